"""DeepDanbooru taggers: a project folder with an ONNX export, loaded like a WD tagger.

Layout (README, `illudex tag`): `model.onnx`, `tags.txt` (one tag per line, in output order;
ratings as `rating:safe|questionable|explicit`), `tags-character.txt` and
`tags-general.txt` (the categories). Input 512² RGB 0..1, NHWC; output sigmoid scores.
The picture keeps its aspect ratio, scaled to fit and centred, its edge pixels repeated to
fill the square (DeepDanbooru's `transform_and_pad_image`, fill mode "edge"). Stored under
its own source `model:NAME`, with the pooled features (the final layer's input) as the
embedding, exactly as the WD taggers are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from illudex.analysers.wd_tagger import RATING_PREFIX, TagList, WDTagger
from illudex.models.errors import ModelCorrupt
from illudex.models.registry import ModelSpec

TAGS_FILE = "tags.txt"
DD_SIZE = 512


def is_deepdanbooru_folder(folder: Path) -> bool:
    return (folder / TAGS_FILE).is_file() and not (folder / "selected_tags.csv").exists()


@dataclass(frozen=True)
class DeepDanbooruPreprocess:
    """Fit inside `size`² (aspect kept), centre, pad by repeating edges; uint8 HWC RGB."""

    size: int = DD_SIZE

    def __call__(self, image: Image.Image) -> np.ndarray:
        if image.mode != "RGB":
            rgba = image.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            canvas.alpha_composite(rgba)
            image = canvas.convert("RGB")
        w, h = image.size
        scale = self.size / max(w, h)
        new = (max(1, round(w * scale)), max(1, round(h * scale)))
        if new != (w, h):
            image = image.resize(new, Image.Resampling.BICUBIC)
        x = np.asarray(image, dtype=np.uint8)
        dy, dx = self.size - x.shape[0], self.size - x.shape[1]
        return np.pad(x, ((dy // 2, dy - dy // 2), (dx // 2, dx - dx // 2), (0, 0)), mode="edge")

    @property
    def decode_side(self) -> int:
        return max(512, self.size)


def load_dd_tags(folder: Path) -> TagList:
    """tags.txt in output order, categories from the side files (rating: prefix → 9)."""
    def lines(name: str) -> list[str]:
        path = folder / name
        if not path.exists():
            return []
        try:
            return [t.strip() for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
        except (OSError, UnicodeDecodeError) as e:
            raise ModelCorrupt(f"DeepDanbooru tag file {str(path)!r} cannot be read ({e})") from e

    names = lines(TAGS_FILE)
    if not names:
        raise ModelCorrupt(f"{str(folder / TAGS_FILE)!r} holds no tags")
    characters = set(lines("tags-character.txt"))
    out, categories = [], []
    for name in names:
        if name.startswith(RATING_PREFIX):  # stored as rating:NAME, like WD's ratings
            out.append(name[len(RATING_PREFIX):])
            categories.append(9)
        else:
            out.append(name)
            categories.append(4 if name in characters else 0)
    return TagList(tuple(out), np.asarray(categories, dtype=np.int16))


class DeepDanbooruTagger(WDTagger):
    """A WD-shaped tagger over a DeepDanbooru export: RGB 0..1 in, same results out."""

    def __init__(self, spec: ModelSpec, folder: Path, *, device: str = "auto",
                 threads: int | None = None, embeddings: bool = True) -> None:
        model_path = folder / "model.onnx"
        if not model_path.exists():
            raise ModelCorrupt(f"DeepDanbooru model {spec.name!r}: {str(model_path)!r} is "
                               "missing (export the project's model to ONNX as model.onnx)")
        super().__init__(spec, model_path, load_dd_tags(folder), device=device,
                         threads=threads, embeddings=embeddings)
        self.preprocess = DeepDanbooruPreprocess(self.size)  # type: ignore[assignment]

    def predict(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """uint8 RGB NHWC batch → (scores, embeddings): the model wants values 0..1."""
        return super().predict(batch.astype(np.float32) / 255.0)
