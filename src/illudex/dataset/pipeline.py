"""Run a spec: source → steps → export, with the cache, worker processes and a report.

Consecutive pixel steps run together, one picture at a time, in worker processes
(`work.run_job`); item steps run between them in this process. The last run of pixel
steps also applies the export's encoding (alpha flattened, format); with no pixel step
at all, an empty run still does. Every outcome is cached by input digest and step
parameters, so a re-run with nothing changed decodes nothing, a changed step redoes
only the runs from it on, and caption or export changes redo no pixels.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from illudex.dataset.cache import Cache
from illudex.dataset.errors import DatasetError
from illudex.dataset.items import Dropped, Item
from illudex.dataset.registry import make_step
from illudex.dataset.spec import SourceSpec, Spec, StepSpec
from illudex.dataset.step import ItemStep, PixelStep, Step
from illudex.dataset.work import Encoding, Job, run_job
from illudex.progress import ProgressCallback, notify

if TYPE_CHECKING:
    from illudex.library import Library

CHUNK = 8  # pictures per task sent to a worker: fewer round trips, still balanced
SPEC_NAME = "dataset"


@dataclass
class Context:
    """What item steps may use: the library (catalog, dupes) and the cache."""

    lib: Library
    cache: Cache
    workers: int


@dataclass
class Outcome:
    kept: list[Item] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    processed: int = 0  # pictures whose pixels were worked on in this run
    pending: int = 0  # dry run: pictures whose pixel steps have not run yet


@dataclass
class BuildReport:
    out: Path
    train: Outcome
    reg: Outcome | None = None
    written: int = 0  # files the export added or changed
    report: Path | None = None
    dry_run: bool = False

    def dropped_by_step(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in (self.train, self.reg):
            for d in outcome.dropped if outcome else []:
                counts[d.step] = counts.get(d.step, 0) + 1
        return counts

    def as_json(self) -> dict[str, Any]:
        errors = self.train.errors + (self.reg.errors if self.reg else [])
        data: dict[str, Any] = {
            "exported": len(self.train.kept) + (len(self.reg.kept) if self.reg else 0),
            "dropped": self.dropped_by_step(), "out": str(self.out), "errors": errors,
            "processed": self.train.processed + (self.reg.processed if self.reg else 0),
            "written": self.written,
            "report": str(self.report) if self.report else None,
        }
        if self.dry_run:
            data["dry_run"] = True
            data["pending"] = self.train.pending + (self.reg.pending if self.reg else 0)
        return data


def build(lib: Library, spec: Spec, *, dry_run: bool = False,
          progress: ProgressCallback | None = None, workers: int | None = None) -> BuildReport:
    from illudex.dataset.exporters import export

    steps = [make_step(s.use, s.params) for s in spec.steps]  # every step checked first
    context = Context(lib, Cache.in_library(lib.dir),
                      workers or lib.workers or os.cpu_count() or 1)
    _check_out(lib, spec)
    encoding = Encoding(spec.export.image_format, spec.export.quality,
                        spec.export.flatten_alpha, spec.export.mode == "encode")
    train = run(context, spec.source, spec.steps, steps, encoding, dry_run, progress)
    reg = run(context, spec.reg, spec.steps, steps, encoding, dry_run, progress) \
        if spec.reg else None
    result = BuildReport(spec.out, train, reg, dry_run=dry_run)
    if dry_run:
        return result
    reg_name = (spec.reg.name if spec.reg and spec.reg.name else "reg")
    written = export(spec.out, spec.export, train.kept, reg.kept if reg else None, reg_name,
                     spec.reg.repeats or 1 if spec.reg else 1, spec.export.mode == "copy")
    result.written = written.changed
    result.report = _report(lib, spec, result)
    return result


def _check_out(lib: Library, spec: Spec) -> None:
    """The export folder must not hold sources: the pipeline writes only under it."""
    out = spec.out.resolve()
    for folder in lib.folders():
        inside = Path(folder).resolve()
        if out == inside or inside.is_relative_to(out) or out.is_relative_to(inside):
            raise DatasetError(f"the export folder {out} overlaps the library folder "
                               f"{inside}: export somewhere outside the scanned folders")


def run(context: Context, source: SourceSpec, specs: tuple[StepSpec, ...], steps: list[Step],
        encoding: Encoding, dry_run: bool, progress: ProgressCallback | None = None) -> Outcome:
    from illudex.dataset.sources import load_items

    outcome = Outcome()
    items = load_items(context.lib, source, progress, outcome.errors)
    segments = list(_segments(specs, steps))
    last_pixels = max((n for n, seg in enumerate(segments) if isinstance(seg, list)),
                      default=None)
    if last_pixels is None:
        segments.append([])
        last_pixels = len(segments) - 1
    for n, segment in enumerate(segments):
        if isinstance(segment, list):
            enc = encoding if n == last_pixels else None
            items = _pixels(context, items, segment, enc, outcome, dry_run, progress)
        else:
            _, step = segment
            assert isinstance(step, ItemStep)
            items, dropped = step.run(items, context)
            outcome.dropped += dropped
    outcome.kept = items
    return outcome


Segment = list[tuple[StepSpec, PixelStep]] | tuple[StepSpec, Step]


def _segments(specs: tuple[StepSpec, ...], steps: list[Step]) -> Iterator[Segment]:
    run: list[tuple[StepSpec, PixelStep]] = []
    for spec, step in zip(specs, steps, strict=True):
        if isinstance(step, PixelStep):
            run.append((spec, step))
            continue
        if run:
            yield run
            run = []
        yield spec, step
    if run:
        yield run


def _pixels(context: Context, items: list[Item], segment: list[tuple[StepSpec, PixelStep]],
            encoding: Encoding | None, outcome: Outcome, dry_run: bool,
            progress: ProgressCallback | None) -> list[Item]:
    todo: list[Item] = []
    for item in items:
        reason = next(((s.name, r) for _, s in segment
                       if (r := s.skip_by_metadata(item)) is not None), None)
        if reason:
            outcome.dropped.append(Dropped(item, *reason))
        else:
            todo.append(item)
    jobs = [Job(i.file, i.key, tuple((sp.use, dict(sp.params)) for sp, _ in segment), encoding,
                str(context.cache.root)) for i in todo]
    results = _cached_only(jobs, context) if dry_run else _run_jobs(jobs, context, progress)
    kept = []
    for item, result in zip(todo, results, strict=True):
        if result is None:  # dry run, not done yet
            outcome.pending += 1
            kept.append(item)
        elif result.get("error"):
            outcome.errors.append({"path": item.source, "error": result["error"]})
        elif result.get("dropped"):
            outcome.dropped.append(Dropped(item, *result["dropped"]))
        else:
            _advance(item, result)
            kept.append(item)
    outcome.processed += sum(1 for r in results if r is not None and r.get("fresh"))
    return kept


def _advance(item: Item, result: dict[str, Any]) -> None:
    item.key = result["key"]
    item.file = result["file"] or item.file
    item.width, item.height = result["width"], result["height"]


def _cached_only(jobs: list[Job], context: Context) -> list[dict[str, Any] | None]:
    return [context.cache.get(job.out_key()) for job in jobs]


def _run_jobs(jobs: list[Job], context: Context, progress: ProgressCallback | None
              ) -> list[dict[str, Any]]:
    results: list[dict[str, Any] | None] = [context.cache.get(j.out_key()) for j in jobs]
    todo = [n for n, r in enumerate(results) if r is None]
    notify(progress, "pictures", len(jobs) - len(todo), len(jobs))
    for done, (n, result) in enumerate(zip(todo, _map([jobs[n] for n in todo], context),
                                           strict=True), start=1):
        results[n] = {**result, "fresh": True}
        notify(progress, "pictures", len(jobs) - len(todo) + done, len(jobs))
    return [r for r in results if r is not None]


def _map(jobs: list[Job], context: Context) -> Iterator[dict[str, Any]]:
    """Results in order; in this process for one worker or a handful of pictures. On
    Ctrl-C the pool stops: what finished is in the cache, the next run resumes there."""
    if context.workers <= 1 or len(jobs) < 2 * CHUNK:
        yield from map(run_job, jobs)
        return
    pool = ProcessPoolExecutor(min(context.workers, len(jobs) // CHUNK),
                               mp_context=multiprocessing.get_context("forkserver"))
    try:
        yield from pool.map(run_job, jobs, chunksize=CHUNK)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _report(lib: Library, spec: Spec, result: BuildReport) -> Path:
    from illudex.dataset.report import write_report

    def thumb(item: Item) -> str | None:
        from illudex.thumbs import ThumbnailError, thumbnail

        if item.image_id is None:
            return None
        try:
            return str(thumbnail(lib, item.image_id, 256))
        except ThumbnailError:
            return None

    kept = result.train.kept + (result.reg.kept if result.reg else [])
    dropped = result.train.dropped + (result.reg.dropped if result.reg else [])
    errors = result.train.errors + (result.reg.errors if result.reg else [])
    title = f"{spec.export.name}: {spec.source.describe()} → {spec.export.format}"
    return write_report(spec.out, title, kept, dropped, errors, thumb)
