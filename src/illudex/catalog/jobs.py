"""The web server's jobs as rows: kind, parameters, state, counts and reasons.

A job's row is written as it runs, so that a restart shows finished and failed jobs with
their reasons and finds the ones a stop cut short ("running" rows, or rows marked
interrupted and resumable) to run again.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from illudex.catalog.transaction import transaction

MAX_STORED_ERRORS = 200  # per job; the count keeps the true number
KEEP_ROWS = 500  # older finished jobs are forgotten


@dataclass
class JobRow:
    id: int
    kind: str
    params: dict[str, Any]
    state: str
    done: int = 0
    total: int = 0
    message: str = ""
    detail: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    error_count: int = 0
    resumable: bool = False
    resumed_from: int | None = None
    started: float = 0.0
    finished: float | None = None


COLUMNS = ("id, kind, params, state, done, total, message, detail, summary, errors, "
           "error_count, resumable, resumed_from, started, finished")


def _row(r: sqlite3.Row | tuple[Any, ...]) -> JobRow:
    return JobRow(id=int(r[0]), kind=r[1], params=json.loads(r[2]), state=r[3], done=r[4],
                  total=r[5], message=r[6], detail=r[7], summary=json.loads(r[8]),
                  errors=json.loads(r[9]), error_count=r[10], resumable=bool(r[11]),
                  resumed_from=r[12], started=r[13], finished=r[14])


def create(conn: sqlite3.Connection, kind: str, params: dict[str, Any], started: float,
           resumed_from: int | None = None) -> int:
    """A new queued job; its id. A job that re-runs an interrupted one settles that one
    in the same transaction, so that no restart runs it twice."""
    with transaction(conn, immediate=True):
        cur = conn.execute(
            "INSERT INTO jobs (kind, params, state, started, resumed_from) "
            "VALUES (?, ?, 'queued', ?, ?)",
            (kind, json.dumps(params, ensure_ascii=False), started, resumed_from))
        if resumed_from is not None:
            conn.execute("UPDATE jobs SET resumable = 0, message = ? WHERE id = ?",
                         (f"interrupted; resumed as job {cur.lastrowid}", resumed_from))
        conn.execute("DELETE FROM jobs WHERE id <= ? AND state NOT IN ('queued', 'running') "
                     "AND resumable = 0", (int(cur.lastrowid) - KEEP_ROWS,))
    return int(cur.lastrowid)


def save(conn: sqlite3.Connection, job: JobRow) -> None:
    """Write a job's state, counts and reasons (not its kind or parameters)."""
    conn.execute(
        "UPDATE jobs SET state = ?, done = ?, total = ?, message = ?, detail = ?, "
        "summary = ?, errors = ?, error_count = ?, resumable = ?, finished = ? WHERE id = ?",
        (job.state, job.done, job.total, job.message, job.detail,
         json.dumps(job.summary, ensure_ascii=False),
         json.dumps(job.errors[:MAX_STORED_ERRORS], ensure_ascii=False), job.error_count,
         int(job.resumable), job.finished, job.id))


def get(conn: sqlite3.Connection, job_id: int) -> JobRow | None:
    r = conn.execute(f"SELECT {COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return _row(r) if r is not None else None


def recent(conn: sqlite3.Connection, limit: int) -> list[JobRow]:
    """The newest jobs first."""
    rows = conn.execute(f"SELECT {COLUMNS} FROM jobs ORDER BY id DESC LIMIT ?", (limit,))
    return [_row(r) for r in rows]


def interrupt_left_running(conn: sqlite3.Connection, message: str) -> list[JobRow]:
    """Mark jobs that a stopped process left queued or running as interrupted (and
    resumable); return every resumable job, oldest first."""
    with transaction(conn, immediate=True):
        conn.execute("UPDATE jobs SET state = 'interrupted', resumable = 1, message = ? "
                     "WHERE state IN ('queued', 'running')", (message,))
        rows = conn.execute(f"SELECT {COLUMNS} FROM jobs WHERE resumable = 1 ORDER BY id")
        return [_row(r) for r in rows]


def settle(conn: sqlite3.Connection, job_id: int, message: str) -> None:
    """An interrupted job was resumed (or will not be): no longer resumable."""
    conn.execute("UPDATE jobs SET resumable = 0, message = ? WHERE id = ?", (message, job_id))
