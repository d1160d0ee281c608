"""Which copy to keep: the best file of a duplicate group, and why, in words."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from illudex.errors import InvalidInput
from illudex.paths import is_under

LOSSLESS_FORMATS = frozenset({"PNG", "BMP", "TIFF", "GIF", "PPM", "TGA"})
RESOLUTION_TOLERANCE = 1.05  # pictures within 5 % of the most pixels count as as large
# File size is no criterion by default: blur, text and borders all make a PNG larger.
DEFAULT_PREFERENCE: tuple[str, ...] = ("original", "lossless", "tags", "older")
CRITERIA_HELP = {
    "original": "the copy the others were made from: not upscaled, downscaled, blurred, "
                "re-encoded, captioned, cropped or bordered",
    "resolution": "more pixels of picture (borders not counted)",
    "lossless": "a lossless format (PNG, BMP, TIFF) over JPEG/WebP",
    "size": "the larger file",
    "tags": "more tags",
    "older": "the older file",
    "newer": "the newer file",
    "shorter-path": "the shorter path",
    "quality": "the higher aesthetic score (`illudex quality`); unscored copies rank last",
    "in:DIR": "a file under DIR (a reference folder)",
}
UNSCORED = -1.0  # below any quality score (0..1): a copy no model has scored ranks last


@dataclass(frozen=True)
class Candidate:
    path: str
    width: int
    height: int
    format: str
    size: int
    mtime_ns: int
    n_tags: int
    # Share of the frame that is picture rather than a uniform border (1.0: no border):
    # a bordered copy has more pixels, not more picture.
    content: float = 1.0
    # How likely the original of its group (higher: won more pairwise comparisons), and
    # what set it apart from the best copy ("blurred", "16 px border"; "" if nothing).
    original: float = 0.0
    defect: str = ""
    quality: float | None = None  # the stored aesthetic score; None if never scored

    @property
    def content_size(self) -> tuple[int, int]:
        scale = self.content ** 0.5
        return round(self.width * scale), round(self.height * scale)


def _key(criterion: str) -> Callable[[Candidate], float]:
    """Higher is better."""
    if criterion.startswith("in:"):
        folder = os.path.abspath(os.path.expanduser(criterion[3:]))
        return lambda c: float(is_under(c.path, folder))
    keys: dict[str, Callable[[Candidate], float]] = {
        "original": lambda c: c.original,
        "resolution": lambda c: c.width * c.height * c.content,
        "lossless": lambda c: float(c.format.upper() in LOSSLESS_FORMATS),
        "size": lambda c: c.size,
        "tags": lambda c: c.n_tags,
        "quality": lambda c: UNSCORED if c.quality is None else c.quality,
        "older": lambda c: -c.mtime_ns,
        "newer": lambda c: c.mtime_ns,
        "shorter-path": lambda c: -len(c.path),
    }
    if criterion not in keys:
        raise InvalidInput(
            f"unknown keeper criterion {criterion!r}; choose from {', '.join(CRITERIA_HELP)}"
        )
    return keys[criterion]


def validate(preference: Sequence[str]) -> None:
    for criterion in preference:
        _key(criterion)


def choose_keeper(
    candidates: Sequence[Candidate], preference: Sequence[str] = DEFAULT_PREFERENCE
) -> tuple[Candidate, str]:
    """The candidate to keep and the reason: the criterion that set it apart.

    Criteria narrow the field in order; each keeps the candidates that are as good as the
    best (for resolution: within 5 %, since a few pixels are no reason to keep a lossy
    copy or lose the tags). The path breaks the last ties, so the same input always keeps
    the same file.
    """
    remaining = sorted(candidates, key=lambda c: c.path)
    if len(remaining) == 1:
        return remaining[0], "only copy"
    runner_up: tuple[str, Candidate] | None = None
    edited: list[Candidate] = []  # dropped by "original": their edits make the reason
    for criterion in preference:
        key = _key(criterion)
        best = max(key(c) for c in remaining)
        keep = [c for c in remaining if _as_good(criterion, key(c), best)]
        dropped = [c for c in remaining if c not in keep]
        if dropped:
            runner_up = (criterion, max(dropped, key=key))
            if criterion == "original":
                edited = dropped
        remaining = keep
        if len(remaining) == 1:
            break
    chosen = remaining[0]
    if len(remaining) > 1:
        why = "identical by every criterion; kept the first by path"
        return chosen, f"{_others(edited)}; the rest {why}" if edited else why
    assert runner_up is not None
    reason = _reason(runner_up[0], chosen, runner_up[1])
    if edited and runner_up[0] != "original":
        return chosen, f"{_others(edited)}; then {reason}"
    return chosen, _others(edited) if edited else reason


def _others(edited: Sequence[Candidate]) -> str:
    """"the others: blurred; 16 px border" — each edit once, in path order."""
    said = list(dict.fromkeys(c.defect for c in edited if c.defect))
    return "the others: " + "; ".join(said) if said else "the original of its group"


def _as_good(criterion: str, value: float, best: float) -> bool:
    if criterion == "resolution":
        return value * RESOLUTION_TOLERANCE >= best
    return value == best


def _reason(criterion: str, best: Candidate, other: Candidate) -> str:
    if criterion == "resolution":
        (bw, bh), (ow, oh) = best.content_size, other.content_size
        border = " inside its border" if other.content < 0.98 else ""
        return f"higher resolution ({bw}×{bh} vs {ow}×{oh}{border})"
    if criterion == "lossless":
        return f"lossless {best.format} (other copy is {other.format})"
    if criterion == "size":
        return f"larger file ({_size(best.size)} vs {_size(other.size)})"
    if criterion == "tags":
        return f"more tags ({best.n_tags} vs {other.n_tags})"
    if criterion == "quality":
        return f"higher quality score ({_score(best.quality)} vs {_score(other.quality)})"
    if criterion in ("older", "newer"):
        return f"{criterion} file"
    if criterion.startswith("in:"):
        return f"in the reference folder {criterion[3:]}"
    return criterion


def _score(quality: float | None) -> str:
    return "unscored" if quality is None else f"{quality:.2f}"


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
