"""Long work started from the web (scan, tag, embed, cluster), one job at a time.

A job runs in a background thread with its own `Library` (its own SQLite connection) and
reports progress through a snapshot that the server streams as server-sent events.
Cancelling takes effect at the next progress report; work finished so far is kept (the
scan commits in batches and resumes where it stopped).

Every job is also a row in the catalog (catalog/jobs.py), written as it runs: a restart
lists finished and failed jobs with their reasons, and re-submits interrupted ones with
the same parameters (scan, tag, embed and dataset builds skip what is already done, so
running again is resuming). Results other than counts (a clustering) stay in memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from illudex.catalog import jobs as rows
from illudex.catalog.db import connect
from illudex.errors import Conflict, IlludexError
from illudex.library import CATALOG_NAME, Library
from illudex.progress import Progress, ProgressCallback

JobWork = Callable[[Library, ProgressCallback], Any]
# Rebuilds a job's work from its stored parameters, to resume it after a restart.
JobFactory = Callable[[dict[str, Any]], JobWork]
MAX_KEPT_JOBS = 20  # in memory (with their results); the catalog keeps more
MAX_LISTED_JOBS = 50
SAVE_EVERY_S = 1.0  # progress is written at most this often
FINISHED = ("done", "failed", "stopped", "interrupted")
LEFT_RUNNING = "interrupted: the server stopped while it ran"
log = logging.getLogger(__name__)


class JobBusyError(Conflict):
    """Another job is running (one at a time)."""


class JobCancelledError(IlludexError):
    """Raised inside a job's progress report when someone asked it to stop."""


@dataclass
class Job:
    id: int
    kind: str
    paths: list[str]
    params: dict[str, Any] = field(default_factory=dict)  # enough to run it again
    state: str = "queued"  # queued | running | done | failed | stopped | interrupted
    done: int = 0
    total: int = 0
    stage: str = ""  # what the work does now (a stage of a clustering, "scan" ...)
    current: str = ""  # the item just finished (a path), or the stage where there is none
    message: str = ""  # one line: what a person reads first
    detail: str = ""  # the rest of a longer reason (where to put a model ...)
    errors: list[dict[str, str]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    result: Any = None  # what the work returned (a ClusterResult for clusters)
    started: float = field(default_factory=time.time)
    finished: float | None = None
    version: int = 0  # bumped at every change: the event stream sends only news
    cancel_requested: bool = False
    shutting_down: bool = False  # stopped by the server's stop, not a person: resume it
    resumable: bool = False
    resumed_from: int | None = None
    error_count: int = 0  # may exceed len(errors) for a job read back from the catalog
    saved_at: float = 0.0

    @property
    def finished_state(self) -> bool:
        return self.state in FINISHED

    def as_row(self) -> rows.JobRow:
        return rows.JobRow(
            id=self.id, kind=self.kind, params=self.params, state=self.state, done=self.done,
            total=self.total, message=self.message, detail=self.detail, summary=self.summary,
            errors=self.errors, error_count=max(self.error_count, len(self.errors)),
            resumable=self.resumable, resumed_from=self.resumed_from, started=self.started,
            finished=self.finished)

    @classmethod
    def from_row(cls, row: rows.JobRow) -> Job:
        paths = row.params.get("paths", [])
        return cls(id=row.id, kind=row.kind, paths=[str(p) for p in paths]
                   if isinstance(paths, list) else [], params=row.params, state=row.state,
                   done=row.done, total=row.total, message=row.message, detail=row.detail,
                   errors=row.errors, summary=row.summary, started=row.started,
                   finished=row.finished, resumable=row.resumable,
                   resumed_from=row.resumed_from, error_count=row.error_count)

    def as_json(self, errors_from: int = 0) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "paths": self.paths, "state": self.state,
            "done": self.done, "total": self.total, "stage": self.stage,
            "current": self.current,
            "message": self.message, "detail": self.detail,
            "error_count": max(self.error_count, len(self.errors)),
            "errors": self.errors[errors_from:], "summary": self.summary,
            "started": self.started, "finished": self.finished, "version": self.version,
            "resumed_from": self.resumed_from,
        }


class JobManager:
    def __init__(self, library_dir: Path, on_finish: Callable[[Job], None] | None = None) -> None:
        self.library_dir = library_dir
        self.on_finish = on_finish
        self.factories: dict[str, JobFactory] = {}  # kinds that can be resumed
        self._jobs: dict[int, Job] = {}
        self._lock = threading.Lock()
        self._db_lock = threading.Lock()  # one connection, shared by request and job threads
        self._conn = connect(Path(library_dir) / CATALOG_NAME)
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    def start(self, kind: str, paths: list[str], work: JobWork,
              params: dict[str, Any] | None = None, resumed_from: int | None = None) -> Job:
        """Run `work` in the background; `params` (JSON) must let the kind's factory
        build the same work again after a restart."""
        with self._lock:
            if self._closing.is_set():
                raise JobBusyError("the server is stopping")
            if self._thread is not None and self._thread.is_alive():
                running = next(j for j in self._jobs.values() if not j.finished_state)
                raise JobBusyError(f"job {running.id} ({running.kind}) is still running: "
                                   "wait for it or cancel it")
            params = {"paths": paths, **(params or {})}
            started = time.time()
            with self._db_lock:
                job_id = rows.create(self._conn, kind, params, started, resumed_from)
            job = Job(id=job_id, kind=kind, paths=paths, params=params, started=started,
                      resumed_from=resumed_from)
            self._jobs[job.id] = job
            self._forget_old()
            self._thread = threading.Thread(target=self._run, args=(job, work),
                                            name=f"illudex-job-{job.id}", daemon=True)
            self._thread.start()
        return job

    def get(self, job_id: int) -> Job | None:
        """A job of this run (with its result), else one read back from the catalog."""
        job = self._jobs.get(job_id)
        if job is not None:
            return job
        with self._db_lock:
            row = rows.get(self._conn, job_id)
        return Job.from_row(row) if row is not None else None

    def list(self) -> list[Job]:
        """The newest jobs first, bounded: live ones as they are now."""
        with self._db_lock:
            stored = rows.recent(self._conn, MAX_LISTED_JOBS)
        return [self._jobs.get(r.id) or Job.from_row(r) for r in stored]

    def cancel(self, job_id: int, shutting_down: bool = False) -> Job | None:
        job = self.get(job_id)
        if job is not None and not job.finished_state and job.id in self._jobs:
            job.cancel_requested = True
            job.shutting_down = shutting_down
            job.message = "stopping…"
            job.version += 1
        return job

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running job (if any) ends; for shutdown and tests."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def resume_interrupted(self, resume: bool = True) -> threading.Thread | None:
        """Mark jobs a stopped server left running as interrupted and, with `resume`,
        run them again one after another in a background thread (returned)."""
        with self._db_lock:
            waiting = rows.interrupt_left_running(self._conn, LEFT_RUNNING)
        if not resume:
            with self._db_lock:
                for row in waiting:
                    rows.settle(self._conn, row.id, "interrupted; not resumed (--no-resume)")
            return None
        if not waiting:
            return None
        thread = threading.Thread(target=self._resume_all, args=(waiting,),
                                  name="illudex-job-resume", daemon=True)
        thread.start()
        return thread

    def close(self, timeout: float = 10.0) -> None:
        """Stop every job (marked interrupted, to resume at the next start) and wait."""
        with self._lock:  # no job starts after this
            self._closing.set()
        for job in list(self._jobs.values()):
            self.cancel(job.id, shutting_down=True)
        self.wait(timeout)
        if self._thread is None or not self._thread.is_alive():
            with self._db_lock:
                self._conn.close()

    def _resume_all(self, waiting: list[rows.JobRow]) -> None:
        for row in waiting:
            if self._closing.is_set():
                return  # still resumable: the next start runs it
            self._resume(row)

    def _resume(self, row: rows.JobRow) -> None:
        """Re-submit one interrupted job once no other job runs (a person may have started
        one meanwhile); creating the new row settles the old one."""
        factory = self.factories.get(row.kind)
        if factory is None:
            note = f"interrupted; {row.kind} jobs are not resumed: start it again"
        else:
            try:
                work = factory(row.params)
                paths = [str(p) for p in row.params.get("paths", [])]
                while not self._closing.is_set():
                    self.wait()
                    with contextlib.suppress(JobBusyError):  # another started first: wait
                        self.start(row.kind, paths, work, row.params, resumed_from=row.id)
                        return
                return  # stopped meanwhile: still resumable at the next start
            except Exception as e:  # a bad stored spec: say so on the row, go on
                note = f"interrupted; could not resume: {e}"
        with self._db_lock:
            if not self._closing.is_set():  # else the connection may be closed
                rows.settle(self._conn, row.id, note)

    def _forget_old(self) -> None:
        for job_id in sorted(self._jobs)[:-MAX_KEPT_JOBS]:
            if self._jobs[job_id].finished_state:
                del self._jobs[job_id]

    def _save(self, job: Job, force: bool = True) -> None:
        """Write the job's row; progress (force=False) at most every SAVE_EVERY_S."""
        now = time.monotonic()
        if not force and now - job.saved_at < SAVE_EVERY_S:
            return
        job.saved_at = now
        try:
            with self._db_lock:
                rows.save(self._conn, job.as_row())
        except sqlite3.Error:  # a busy or full disk must not end the job: it is shown live
            log.exception("could not record job %s in the catalog", job.id)

    def _run(self, job: Job, work: JobWork) -> None:
        job.state, job.version = "running", job.version + 1
        self._save(job)
        end = "failed"
        try:
            with Library.open(self.library_dir) as lib:
                outcome = work(lib, _progress(job, lambda: self._save(job, force=False)))
            _record_outcome(job, outcome)
            end = "done"
        except JobCancelledError:
            if job.shutting_down:
                end, job.resumable = "interrupted", True
                job.message = "interrupted: the server stopped; it resumes at the next start"
            else:
                end, job.message = "stopped", "stopped; finished work is kept"
        except (IlludexError, OSError) as e:  # the message is meant for a person
            _set_reason(job, str(e))
        except Exception as e:  # a bug must end the job visibly, not kill the server
            _set_reason(job, f"{type(e).__name__}: {e}")
            log.exception("job %s (%s) failed", job.id, job.kind)
        finally:
            # The end time before the end state: whoever sees the state sees the time too.
            job.finished = time.time()
            job.state = end
            job.version += 1
            self._save(job)
            if self.on_finish is not None:
                self.on_finish(job)


def _set_reason(job: Job, text: str) -> None:
    """Why a job failed: the first line as its message, the rest as detail."""
    first, _, rest = text.strip().partition("\n")
    job.message, job.detail = first.strip(), rest.strip()


def _progress(job: Job, save: Callable[[], None]) -> ProgressCallback:
    """The job's progress callback: copies each report onto the job (which the event
    stream sends) and stops the work when someone asked. `save` records it (throttled)."""

    def update(progress: Progress) -> None:
        if job.cancel_requested:
            raise JobCancelledError
        job.stage, job.done, job.total = progress.stage, progress.done, progress.total or 0
        job.current = progress.current or progress.stage
        job.version += 1
        save()

    return update


def _record_outcome(job: Job, outcome: Any) -> None:
    """Per-file errors and the counts of what a Library method returned."""
    job.result = outcome
    errors = getattr(outcome, "errors", None)
    if isinstance(errors, list):
        job.errors = [_error_entry(e) for e in errors]
    data: Any = {}
    if callable(getattr(outcome, "as_json", None)):
        data = outcome.as_json()
    elif dataclasses.is_dataclass(outcome) and not isinstance(outcome, type):
        data = {f.name: getattr(outcome, f.name) for f in dataclasses.fields(outcome)}
    if isinstance(data, dict):
        job.summary = {k: v for k, v in data.items() if isinstance(v, int | float | str | bool)}
    if job.total and job.done < job.total:
        job.done = job.total


def _error_entry(error: Any) -> dict[str, str]:
    if isinstance(error, dict):
        return {str(k): str(v) for k, v in error.items()}
    if isinstance(error, tuple | list) and len(error) == 2:
        return {"path": str(error[0]), "error": str(error[1])}
    return {"path": "", "error": str(error)}
