"""What an engine offers (`Engine`), and loading a model where it runs inference."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from illudex.analysers.runner import RunSummary
    from illudex.analysers.wd_tagger import TagOptions, TagResult
    from illudex.progress import ProgressCallback
    from illudex.scan.worker import FileResult, WorkerConfig

ModelLoader = Callable[[], Any]  # picklable: loads the model where inference runs


class Engine(Protocol):
    def file_results(self, tasks: list[tuple[str, int, int]],
                     config: WorkerConfig) -> Iterable[FileResult]:
        """The scan's tasks (path, size, mtime_ns) read, hashed, decoded and analysed."""

    def tag_images(self, conn: sqlite3.Connection, images: Sequence[tuple[int, str]],
                   tagger: Any, load: ModelLoader, *, options: TagOptions | None = None,
                   progress: ProgressCallback | None = None,
                   on_result: Callable[[TagResult], None] | None = None) -> RunSummary:
        """`analysers.runner.tag_images` with inference where the engine runs it."""

    def embed_images(self, conn: sqlite3.Connection, images: Sequence[tuple[int, str]],
                     model: Any, load: ModelLoader, *,
                     progress: ProgressCallback | None = None) -> RunSummary:
        """`analysers.runner.embed_images` with inference where the engine runs it."""

    def model_outputs(self, paths: Sequence[str], prep: Any, load: ModelLoader,
                      infer: Callable[[Any, list[Any]], Iterable[Any]], batch_size: int,
                      ) -> Iterator[tuple[Any, tuple[int, int], str]]:
        """Per path, in order: (infer(model, batch) for its picture, its full size, an
        error text or ""), each decoded by `modelprep.prepare_file` with `prep` (a
        dataset model step's inference)."""



def load_model(kind: str, name: str, device: str = "auto") -> Any:
    """Load a model where an engine runs inference: "tagger", "clip" or "embedder" (an
    ONNX folder with illudex.json). A module-level function, so `partial(load_model, …)`
    pickles by reference (a bound classmethod would drag the class's state along)."""
    if kind == "tagger":
        from illudex.analysers.taggers import load_tagger

        return load_tagger(name, device=device)
    if kind == "clip":
        from illudex.analysers.clip import ClipModel

        return ClipModel.load(name, device=device)
    if kind == "embedder":
        from illudex.analysers.embedder import OnnxEmbedder

        return OnnxEmbedder.load(name, device=device)
    raise ValueError(f"no model kind {kind!r}")
