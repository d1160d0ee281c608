"""Which copy to keep: the best file of a duplicate group, and why, in words."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from illudex.paths import is_under

LOSSLESS_FORMATS = frozenset({"PNG", "BMP", "TIFF", "GIF", "PPM", "TGA"})
DEFAULT_PREFERENCE: tuple[str, ...] = ("resolution", "lossless", "size", "tags", "older")
CRITERIA_HELP = {
    "resolution": "more pixels",
    "lossless": "a lossless format (PNG, BMP, TIFF) over JPEG/WebP",
    "size": "the larger file",
    "tags": "more tags",
    "older": "the older file",
    "newer": "the newer file",
    "shorter-path": "the shorter path",
    "in:DIR": "a file under DIR (a reference folder)",
}


@dataclass(frozen=True)
class Candidate:
    path: str
    width: int
    height: int
    format: str
    size: int
    mtime_ns: int
    n_tags: int


def _key(criterion: str) -> Callable[[Candidate], float]:
    """Higher is better."""
    if criterion.startswith("in:"):
        folder = os.path.abspath(os.path.expanduser(criterion[3:]))
        return lambda c: float(is_under(c.path, folder))
    keys: dict[str, Callable[[Candidate], float]] = {
        "resolution": lambda c: c.width * c.height,
        "lossless": lambda c: float(c.format.upper() in LOSSLESS_FORMATS),
        "size": lambda c: c.size,
        "tags": lambda c: c.n_tags,
        "older": lambda c: -c.mtime_ns,
        "newer": lambda c: c.mtime_ns,
        "shorter-path": lambda c: -len(c.path),
    }
    if criterion not in keys:
        raise ValueError(
            f"unknown keeper criterion {criterion!r}; choose from {', '.join(CRITERIA_HELP)}"
        )
    return keys[criterion]


def validate(preference: Sequence[str]) -> None:
    for criterion in preference:
        _key(criterion)


def choose_keeper(
    candidates: Sequence[Candidate], preference: Sequence[str] = DEFAULT_PREFERENCE
) -> tuple[Candidate, str]:
    """The candidate to keep and the reason: the first criterion that set it apart."""
    keys = [(criterion, _key(criterion)) for criterion in preference]

    def rank(c: Candidate) -> tuple[object, ...]:
        # Path breaks the last ties so that the same input always keeps the same file.
        return (*(-key(c) for _, key in keys), c.path)

    ordered = sorted(candidates, key=rank)
    best = ordered[0]
    if len(ordered) == 1:
        return best, "only copy"
    runner_up = ordered[1]
    for criterion, key in keys:
        if key(best) != key(runner_up):
            return best, _reason(criterion, best, runner_up)
    return best, "identical by every criterion; kept the first by path"


def _reason(criterion: str, best: Candidate, other: Candidate) -> str:
    if criterion == "resolution":
        return f"higher resolution ({best.width}×{best.height} vs {other.width}×{other.height})"
    if criterion == "lossless":
        return f"lossless {best.format} (other copy is {other.format})"
    if criterion == "size":
        return f"larger file ({_size(best.size)} vs {_size(other.size)})"
    if criterion == "tags":
        return f"more tags ({best.n_tags} vs {other.n_tags})"
    if criterion in ("older", "newer"):
        return f"{criterion} file"
    if criterion.startswith("in:"):
        return f"in the reference folder {criterion[3:]}"
    return criterion


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
