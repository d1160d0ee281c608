"""Decode ahead of a model: a function over tasks in spawned worker processes, results in
task order, at most `ahead` in flight so memory stays bounded while the model runs."""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

Task = TypeVar("Task")
Result = TypeVar("Result")


def ignore_interrupts() -> None:
    """Worker initialiser: Ctrl-C is handled once, by the parent, which stops the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def in_order(fn: Callable[[Task], Result], tasks: Iterable[Task], workers: int, ahead: int
             ) -> Iterator[Result]:
    """`map(fn, tasks)` over `workers` spawned processes (fork is unsafe beside ONNX
    Runtime's threads), yielding in task order."""
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=ignore_interrupts)
    try:
        queue: deque[Future[Result]] = deque()
        pending = iter(tasks)
        for task in pending:
            queue.append(pool.submit(fn, task))
            if len(queue) >= ahead:
                break
        while queue:
            result = queue.popleft().result()
            for task in pending:  # one in for each one out
                queue.append(pool.submit(fn, task))
                break
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
