"""Which tagger a model holds, loaded: a WD tagger, or a DeepDanbooru export in WD's shape.

Callers that take any tagger (the model pool, the dataset `tag` step) load it here; the
formats know nothing of each other beyond DeepDanbooru building on the WD tagger.
"""

from __future__ import annotations

from pathlib import Path

from illudex.analysers.deepdanbooru import DeepDanbooruTagger, is_deepdanbooru_folder
from illudex.analysers.wd_tagger import WDTagger
from illudex.models import hub
from illudex.models.registry import DEFAULT_TAGGER, resolve


def load_tagger(
    name_or_path: str | Path = DEFAULT_TAGGER, *, device: str = "auto",
    threads: int | None = None, embeddings: bool = True, allow_download: bool = True,
) -> WDTagger:
    """Resolve, fetch if needed (progress shown), load; errors are `ModelError`s."""
    spec = resolve(name_or_path, kind="tagger")
    where = hub.ensure(spec, allow_download=allow_download)
    if where.is_dir() and is_deepdanbooru_folder(where):  # same results, its own layout
        return DeepDanbooruTagger(spec, where, device=device, threads=threads,
                                  embeddings=embeddings)
    return WDTagger.from_files(spec, where, device=device, threads=threads,
                               embeddings=embeddings)
