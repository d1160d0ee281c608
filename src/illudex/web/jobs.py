"""Long work started from the web (scan, tag, embed, cluster), one job at a time.

A job runs in a background thread with its own `Library` (its own SQLite connection) and
reports progress through a snapshot that the server streams as server-sent events.
Cancelling takes effect at the next progress report; work finished so far is kept (the
scan commits in batches and resumes where it stopped).
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from illudex.library import Library, LibraryError

JobWork = Callable[[Library, Callable[..., None]], Any]
MAX_KEPT_JOBS = 20


class JobBusyError(Exception):
    """Another job is running (one at a time)."""


class JobCancelledError(Exception):
    """Raised inside a job's progress report when someone asked it to stop."""


@dataclass
class Job:
    id: int
    kind: str
    paths: list[str]
    state: str = "queued"  # queued | running | done | failed | cancelled
    done: int = 0
    total: int = 0
    current: str = ""
    message: str = ""
    errors: list[dict[str, str]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    result: Any = None  # what the work returned (a ClusterResult for clusters)
    started: float = field(default_factory=time.time)
    finished: float | None = None
    version: int = 0  # bumped at every change: the event stream sends only news
    cancel_requested: bool = False

    @property
    def finished_state(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    def as_json(self, errors_from: int = 0) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "paths": self.paths, "state": self.state,
            "done": self.done, "total": self.total, "current": self.current,
            "message": self.message, "error_count": len(self.errors),
            "errors": self.errors[errors_from:], "summary": self.summary,
            "started": self.started, "finished": self.finished, "version": self.version,
        }


class JobManager:
    def __init__(self, library_dir: Path, on_finish: Callable[[Job], None] | None = None) -> None:
        self.library_dir = library_dir
        self.on_finish = on_finish
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, kind: str, paths: list[str], work: JobWork) -> Job:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                running = next(j for j in self._jobs.values() if not j.finished_state)
                raise JobBusyError(f"job {running.id} ({running.kind}) is still running: "
                                   "wait for it or cancel it")
            job = Job(id=next(self._ids), kind=kind, paths=paths)
            self._jobs[job.id] = job
            self._forget_old()
            self._thread = threading.Thread(target=self._run, args=(job, work),
                                            name=f"illudex-job-{job.id}", daemon=True)
            self._thread.start()
        return job

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: j.id, reverse=True)

    def cancel(self, job_id: int) -> Job | None:
        job = self._jobs.get(job_id)
        if job is not None and not job.finished_state:
            job.cancel_requested = True
            job.message = "stopping…"
            job.version += 1
        return job

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running job (if any) ends; for shutdown and tests."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _forget_old(self) -> None:
        for job_id in sorted(self._jobs)[:-MAX_KEPT_JOBS]:
            if self._jobs[job_id].finished_state:
                del self._jobs[job_id]

    def _run(self, job: Job, work: JobWork) -> None:
        job.state, job.version = "running", job.version + 1
        try:
            with Library.open(self.library_dir) as lib:
                outcome = work(lib, _progress(job))
            _record_outcome(job, outcome)
            job.state = "done"
        except JobCancelledError:
            job.state, job.message = "cancelled", "stopped; finished work is kept"
        except (LibraryError, ValueError, OSError) as e:
            job.state, job.message = "failed", str(e)
        except Exception as e:  # a bug must end the job visibly, not kill the server
            job.state, job.message = "failed", f"{type(e).__name__}: {e}"
            traceback.print_exc()
        finally:
            job.finished = time.time()
            job.version += 1
            if self.on_finish is not None:
                self.on_finish(job)


def _progress(job: Job) -> Callable[..., None]:
    """A progress report for Library methods: (done, total, current) from scans,
    (stage, done, total) from clustering."""

    def update(*args: object) -> None:
        if job.cancel_requested:
            raise JobCancelledError
        if args and isinstance(args[0], str):
            job.current = args[0]
            args = args[1:]
        done, total = [*args, 0, 0][:2]
        job.done, job.total = int(done or 0), int(total or 0)  # type: ignore[call-overload]
        if len(args) > 2 and isinstance(args[2], str):
            job.current = args[2]
        job.version += 1

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


def call_with_progress(method: Callable[..., Any], *args: Any,
                       progress: Callable[..., None], **kwargs: Any) -> Any:
    """Call a Library method, passing `progress` only where it takes one."""
    try:
        accepts = "progress" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        accepts = False
    if accepts:
        kwargs["progress"] = progress
    return method(*args, **kwargs)
