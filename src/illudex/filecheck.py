"""Is the file at a catalogued path still the picture the catalog describes?

Anything done to a file on the strength of the catalog (moving a duplicate to the trash,
serving it to a browser) first asks `why_not`: between a scan or a comparison and the
action, a file may have vanished, been replaced by other content, or by a symbolic link
to somewhere else entirely.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence

from illudex.catalog.images import ImageRow
from illudex.paths import is_under


def content_digest(path: str) -> str:
    """The scan's content digest of the file at `path` (BLAKE2b, 128 bits)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def why_not(row: ImageRow, folders: Sequence[str], *, hash_if_touched: bool = True) -> str | None:
    """Why the file at `row.path` may not be acted on as the catalogued picture (None: it
    may). Checked: a regular file (no link) inside a library folder once links are
    resolved, with the catalogued size and mtime; when only the mtime moved, the content
    digest decides (`hash_if_touched`; otherwise a moved mtime is a change)."""
    try:
        st = os.lstat(row.path)
    except FileNotFoundError:
        return f"{row.path}: not there any more"
    except OSError as e:
        return f"{row.path}: cannot be read ({e.strerror or e})"
    if stat.S_ISLNK(st.st_mode):
        return f"{row.path}: now a symbolic link"
    if not stat.S_ISREG(st.st_mode):
        return f"{row.path}: no longer a file"
    if not inside_folders(row.path, folders):
        return f"{row.path}: outside the library folders once links are resolved"
    if st.st_size == row.size and st.st_mtime_ns == row.mtime_ns:
        return None
    if st.st_size == row.size and hash_if_touched and _digest_or_none(row.path) == row.digest:
        return None
    return f"{row.path}: changed since it was compared (scan its folder again)"


def inside_folders(path: str, folders: Sequence[str]) -> bool:
    """`path`, with every link resolved, lies in one of `folders` (links resolved too)."""
    real = os.path.realpath(path)
    return any(is_under(real, os.path.realpath(folder)) for folder in folders)


def same_file(a: str, b: str) -> bool:
    """Two paths to one file (a hard or symbolic link): removing one frees nothing, and
    may take the other's picture away."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _digest_or_none(path: str) -> str | None:
    try:
        return content_digest(path)
    except OSError:
        return None


def one_per_file(rows: list[ImageRow]) -> list[ImageRow]:
    """`rows` less any that name a file an earlier row names (hard links, or two library
    folders reaching one file): one file is one picture, never its own duplicate."""
    seen: set[tuple[int, int]] = set()
    out = []
    for row in rows:
        try:
            st = os.stat(row.path)
        except OSError:
            out.append(row)  # cannot tell: the action's own checks will look again
            continue
        if (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            out.append(row)
    return out
