"""No module over 600 lines: past that, a module holds more than one concern (issue 11).

A module that grows past the limit is split by what it holds, not trimmed by squeezing
lines; the limit counts every line, comments and docstrings included.
"""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "illudex"
MAX_LINES = 600


def oversized(root: Path = SRC, limit: int = MAX_LINES) -> dict[str, int]:
    """Modules under `root` longer than `limit` lines, by path relative to `root`."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        with path.open("rb") as f:
            lines = sum(1 for _ in f)
        if lines > limit:
            found[path.relative_to(root).as_posix()] = lines
    return found


def test_no_module_is_over_the_limit() -> None:
    too_long = oversized()
    assert not too_long, f"modules over {MAX_LINES} lines (split them by concern): {too_long}"


def test_the_check_counts_every_line(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "long.py").write_text('"""Doc."""\n' + "\n" * 600)
    (tmp_path / "short.py").write_text("x = 1\n" * 600)
    assert oversized(tmp_path) == {"pkg/long.py": 601}
