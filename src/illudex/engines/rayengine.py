"""The Ray engine: the scan's and the models' analysers as Ray Data stages.

    scan:   paths ─read bytes (CPU tasks)─▶ hash + decode + scan analysers (CPU tasks,
            `scan.worker.process_bytes`) ─▶ FileResults ─▶ this process commits them
    models: paths ─read bytes─▶ decode + preprocess (CPU tasks, the model's own
            preprocessor) ─▶ ONNX inference in an actor pool (one actor per GPU where the
            cluster has GPUs) ─▶ this process stores each batch (`runner.store_tags`,
            `runner.store_vectors`)

Bytes are read in illudex's code, not by `ray.data.read_images` (which skips WebP and
decodes differently), from a shared mount or an s3:// URL (`engines.storage`). Rows
travel between stages as pickled blobs: a FileResult or a preprocessed array keeps its
exact types and shapes, so results equal the local engine's bit for bit.

A lost worker: Ray Data's defaults re-run its tasks and restart its inference actors
(their constructor loads the model again); a lost driver loses at most the batch it was
committing, and the next run skips every committed picture (scan: size + mtime; models:
`model_runs`).
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from illudex.engines.base import ModelLoader
from illudex.engines.storage import S3Access, read_bytes
from illudex.errors import Unavailable
from illudex.progress import ProgressCallback

if TYPE_CHECKING:
    from illudex.analysers.runner import RunSummary
    from illudex.analysers.wd_tagger import TagOptions, TagResult
    from illudex.scan.worker import FileResult, WorkerConfig

#: Files per read / decode task: big enough to amortise a task's start (~ms), small
#: enough that a lost task costs little to redo and the 2-core test machine streams.
FILES_PER_TASK = 16


class RayEngine:
    def __init__(self, cpus: float, gpus: int) -> None:
        self.cpus = cpus
        self.gpus = gpus

    @classmethod
    def connect(cls, address: str | None = None) -> RayEngine:
        """Join the Ray cluster at `address` (ray://HOST:10001 or HOST:6379; "auto": the
        one this machine belongs to), or start a local one when None."""
        try:
            import ray
        except ImportError as exc:
            raise Unavailable("--engine ray needs Ray: pip install 'illudex[ray]'") from exc
        if not ray.is_initialized():
            try:
                ray.init(address=address, log_to_driver=False, include_dashboard=False,
                         ignore_reinit_error=True)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise Unavailable(f"cannot reach the Ray cluster at {address}: {exc}") from exc
        _quiet_progress()
        resources = ray.cluster_resources()
        return cls(float(resources.get("CPU", 1)), int(resources.get("GPU", 0)))

    # ---- scan

    def file_results(self, tasks: list[tuple[str, int, int]],
                     config: WorkerConfig) -> Iterator[FileResult]:
        rows = [{"path": os.fsencode(p), "size": s, "mtime_ns": m} for p, s, m in tasks]
        ds = _dataset(rows).map_batches(_reader(), batch_size=FILES_PER_TASK)
        ds = ds.map_batches(partial(_analyse_stage, config=config),
                            batch_size=FILES_PER_TASK)
        for batch in ds.iter_batches(batch_size=FILES_PER_TASK, batch_format="numpy"):
            yield from (pickle.loads(blob) for blob in batch["result"])

    # ---- models

    def tag_images(self, conn: sqlite3.Connection, images: Sequence[tuple[int, str]],
                   tagger: Any, load: ModelLoader, *, options: TagOptions | None = None,
                   progress: ProgressCallback | None = None,
                   on_result: Callable[[TagResult], None] | None = None) -> RunSummary:
        from illudex.analysers.runner import RunSummary, commit_tags, pending
        from illudex.analysers.wd_tagger import TagOptions

        options = options or TagOptions()
        summary = RunSummary(tagger.name, total=len(images))
        todo = images if options.rerun else pending(conn, images, tagger.name, "tags")
        summary.skipped = len(images) - len(todo)
        size = options.batch_size or tagger.default_batch
        started = time.perf_counter()
        for ids, paths, (scores, feats) in self._inferred(todo, tagger.preprocess, load,
                                                          "tag", size, summary, progress):
            results = tagger.results(scores, feats, paths, options)
            commit_tags(conn, tagger, ids, results, options, summary, on_result, progress)
        summary.seconds = time.perf_counter() - started
        return summary

    def embed_images(self, conn: sqlite3.Connection, images: Sequence[tuple[int, str]],
                     model: Any, load: ModelLoader, *,
                     progress: ProgressCallback | None = None) -> RunSummary:
        from illudex.analysers.runner import RunSummary, commit_vectors, pending

        summary = RunSummary(model.name, total=len(images))
        todo = pending(conn, images, model.name, "embedding")
        summary.skipped = len(images) - len(todo)
        started = time.perf_counter()
        for ids, _paths, vectors in self._inferred(todo, model.preprocess, load, "embed",
                                                   model.default_batch, summary, progress):
            commit_vectors(conn, model.name, ids, vectors, summary, progress)
        summary.seconds = time.perf_counter() - started
        return summary

    def _inferred(self, todo: Sequence[tuple[int, str]], prep: Any, load: ModelLoader,
                  kind: str, size: int, summary: RunSummary, progress: ProgressCallback | None,
                  ) -> Iterator[tuple[list[int], list[str], Any]]:
        """(ids, paths, model output) per batch of `size`; failures go to the summary."""
        from illudex.analysers.runner import report

        if not todo:
            return
        ds = _dataset([{"id": i, "path": os.fsencode(p)} for i, p in todo])
        ds = ds.map_batches(_reader(), batch_size=FILES_PER_TASK)
        ds = ds.map_batches(partial(_prepare_stage, prep=prep), batch_size=FILES_PER_TASK)
        ds = ds.map_batches(_Inference, fn_constructor_kwargs={
                                "load": load, "infer": partial(_run_model, kind)},
                            batch_size=size, compute=self._actors(),
                            num_gpus=1 if self.gpus else 0)
        for batch in ds.iter_batches(batch_size=size, batch_format="numpy"):
            ok: list[tuple[int, str, Any]] = []
            for image_id, path, error, out in zip(batch["id"], batch["path"], batch["error"],
                                                  batch["out"], strict=True):
                if error:
                    summary.errors.append((_path(path), str(error)))
                    report(progress, summary, kind, _path(path))
                else:
                    ok.append((int(image_id), _path(path), pickle.loads(out)))
            if ok:
                yield [o[0] for o in ok], [o[1] for o in ok], _stacked(kind, ok)

    def model_outputs(self, paths: Sequence[str], prep: Any, load: ModelLoader,
                      infer: Callable[[Any, list[Any]], Iterable[Any]], batch_size: int,
                      ) -> Iterator[tuple[Any, tuple[int, int], str]]:
        """A dataset model step's inference: decode + `prep` in CPU tasks
        (`modelprep.prepare_file`, the local path's own), `infer` in the actor pool."""
        if not paths:
            return
        ds = _dataset([{"n": n, "path": os.fsencode(p)} for n, p in enumerate(paths)])
        ds = ds.map_batches(partial(_prepare_file_stage, prep=prep), batch_size=FILES_PER_TASK)
        ds = ds.map_batches(_StepInference, fn_constructor_kwargs={"load": load, "infer": infer},
                            batch_size=batch_size, compute=self._actors(),
                            num_gpus=1 if self.gpus else 0)
        # Rows come back in any order: held until the ones before them came.
        waiting: dict[int, tuple[Any, tuple[int, int], str]] = {}
        at = 0
        for batch in ds.iter_batches(batch_size=batch_size, batch_format="numpy"):
            for n, out, w, h, error in zip(batch["n"], batch["out"], batch["width"],
                                           batch["height"], batch["error"], strict=True):
                waiting[int(n)] = (pickle.loads(out) if out else None, (int(w), int(h)),
                                   str(error))
            while at in waiting:
                yield waiting.pop(at)
                at += 1

    def _actors(self) -> Any:
        """One inference actor per GPU; on CPUs, one per 4 cores (ONNX Runtime threads
        use the rest), at least one."""
        from ray.data import ActorPoolStrategy

        count = self.gpus or max(1, int(self.cpus) // 4)
        return ActorPoolStrategy(min_size=1, max_size=count)


def _stacked(kind: str, ok: list[tuple[int, str, Any]]) -> Any:
    if kind == "embed":
        return np.stack([o[2] for o in ok])
    scores = np.stack([o[2][0] for o in ok])
    feats = None if ok[0][2][1] is None else np.stack([o[2][1] for o in ok])
    return scores, feats


def _dataset(rows: list[dict[str, Any]]) -> Any:
    import ray.data

    # Enough blocks that every CPU has work from the start (from_items makes few).
    blocks = max(1, min(len(rows) // FILES_PER_TASK, 4 * (os.cpu_count() or 1)))
    return ray.data.from_items(rows, override_num_blocks=blocks)


def _quiet_progress() -> None:
    """No per-stage progress bars: illudex reports its own progress."""
    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False


# ---- the stages (run in Ray workers: module-level, picklable)


def _reader() -> Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """The read stage, with the S3 settings of this process's environment."""
    return partial(_read_stage, access=S3Access.from_env())


def _read_stage(batch: dict[str, np.ndarray], access: S3Access) -> dict[str, np.ndarray]:
    """Each row's file bytes (an empty blob and the reason when it cannot be read)."""
    data, errors = [], []
    for path in batch["path"]:
        try:
            data.append(read_bytes(_path(path), access))
            errors.append("")
        except FileNotFoundError:
            data.append(b"")
            errors.append("file vanished before it could be read")
        except OSError as e:
            data.append(b"")
            errors.append(f"cannot read file: {e.strerror or e}")
    return {**batch, "data": _objects(data), "error": np.array(errors, dtype=object)}


def _analyse_stage(batch: dict[str, np.ndarray], config: WorkerConfig) -> dict[str, np.ndarray]:
    """The scan worker's own hash + decode + analysers on each row's bytes."""
    from illudex.scan.worker import FileResult, process_bytes

    out = []
    for path, size, mtime, data, error in zip(batch["path"], batch["size"], batch["mtime_ns"],
                                              batch["data"], batch["error"], strict=True):
        task = (_path(path), int(size), int(mtime))
        result = (FileResult(*task, error=str(error)) if error
                  else process_bytes(task, bytes(data), config))
        out.append(pickle.dumps(result))
    return {"result": _objects(out)}


def _prepare_stage(batch: dict[str, np.ndarray], prep: Any) -> dict[str, np.ndarray]:
    """Decode each row's bytes as the model runner's workers do, and preprocess."""
    import io

    from illudex.imageio import DecodeError, decode_file

    pixels, errors = [], []
    for path, data, error in zip(batch["path"], batch["data"], batch["error"], strict=True):
        array, problem = None, str(error)
        if not problem:
            try:
                decoded = decode_file(io.BytesIO(bytes(data)), _path(path),
                                      side=prep.decode_side)
                array = prep(decoded.image)
            except DecodeError as e:
                problem = str(e)
            except Exception as e:  # one bad file must not end the run
                problem = f"cannot prepare: {type(e).__name__}: {e}"
        pixels.append(pickle.dumps(array))
        errors.append(problem)
    return {"id": batch["id"], "path": batch["path"], "error": np.array(errors, dtype=object),
            "pixels": _objects(pixels)}


def _prepare_file_stage(batch: dict[str, np.ndarray], prep: Any) -> dict[str, np.ndarray]:
    """Each row's picture decoded and prepared as a dataset step's local decode does."""
    from illudex.analysers.modelprep import prepare_file

    done = [prepare_file((_path(p), prep)) for p in batch["path"]]
    return {"n": batch["n"], "pixels": _objects([pickle.dumps(d[0]) for d in done]),
            "width": np.array([d[1][0] for d in done]),
            "height": np.array([d[1][1] for d in done]),
            "error": np.array([d[2] for d in done], dtype=object)}


class _Inference:
    """An actor holding a model, loaded once: `infer(model, inputs)` on the prepared inputs
    of the rows that decoded, a batch at a time; the other columns pass through."""

    def __init__(self, load: ModelLoader,
                 infer: Callable[[Any, list[Any]], Iterable[Any]]) -> None:
        self.model = load()
        self.infer = infer

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        good = [i for i, e in enumerate(batch["error"]) if not e]
        outputs: list[bytes] = [b""] * len(batch["error"])
        if good:
            inputs = [pickle.loads(batch["pixels"][i]) for i in good]
            for at, value in zip(good, self.infer(self.model, inputs), strict=True):
                outputs[at] = pickle.dumps(value)
        passed = {name: column for name, column in batch.items() if name != "pixels"}
        return {**passed, "out": _objects(outputs)}


class _StepInference(_Inference):
    """A dataset step's model: its own name in Ray's plans and dashboard."""


def _run_model(kind: str, model: Any, inputs: list[Any]) -> list[Any]:
    """A tagger's or an embedder's outputs, one per picture, for a stacked batch."""
    pixels = np.stack(inputs)
    if kind == "embed":
        return list(model.embed_batch(pixels))
    scores, feats = model.predict(pixels)
    return [(s, None if feats is None else feats[i]) for i, s in enumerate(scores)]


def _path(value: Any) -> str:
    """A path as the catalog has it. Paths travel as bytes (os.fsencode): Arrow's strings
    cannot hold the surrogates of a file name that is not UTF-8."""
    return os.fsdecode(bytes(value))


def _objects(items: list[Any]) -> np.ndarray:
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array
