"""Walking folders: every picture file under the roots, robust to what real disks hold.

Unreadable folders and folders that vanish while we walk become `WalkError`s; the walk
goes on with the rest.

Symbolic links inside a folder are not followed (a folder given to the scan may itself be
one): a link is a second path to a file that lives elsewhere, perhaps outside every
folder the user gave, and a picture reached that way could be moved, served or written
beside by mistake. Each link is reported, so a user can scan its target by name. A file
with several hard links is one picture: it is listed once, under the first of its paths.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

from illudex.picturefiles import is_image_name

TRASH_DIR_NAME = ".illudex-trash"
SKIP_DIR_NAMES = frozenset({TRASH_DIR_NAME, ".git", "__pycache__", "@eaDir", ".Trash-1000"})


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class WalkError:
    path: str
    error: str


@dataclass
class WalkResult:
    files: list[FileEntry]
    errors: list[WalkError]
    # Folders not listed (unreadable, vanished, or left out on purpose: trash, excluded):
    # their catalog entries must not be taken as deleted.
    unlisted: list[str]
    # Same-name caption files seen on the way (path -> mtime_ns): saves a stat per image.
    sidecars: dict[str, int]
    excluded: set[tuple[int, int]] = field(default_factory=set)
    # (device, inode) of every file with hard links listed so far: its other paths are
    # the same picture.
    linked: set[tuple[int, int]] = field(default_factory=set)


def walk(root: str, exclude: frozenset[str] = frozenset()) -> WalkResult:
    """Every picture under `root`, sorted by path; `exclude`: folders to leave out (the
    library's own folder, where the trash is)."""
    result = WalkResult(files=[], errors=[], unlisted=[], sidecars={})
    seen_dirs: set[tuple[int, int]] = set()
    for folder in exclude:
        with contextlib.suppress(OSError):
            st = os.stat(folder)
            result.excluded.add((st.st_dev, st.st_ino))
    for item in _walk_dir(root, seen_dirs, result):
        result.files.append(item)
    result.files.sort(key=lambda f: f.path)
    return result


def _walk_dir(
    folder: str, seen: set[tuple[int, int]], result: WalkResult
) -> Iterator[FileEntry]:
    try:
        st = os.stat(folder)
    except OSError as e:
        _cannot_list(result, folder, e, "cannot open folder")
        return
    key = (st.st_dev, st.st_ino)
    if key in result.excluded:
        result.unlisted.append(folder)  # left out on purpose: its catalog rows stay
        return
    if key in seen:  # a bind mount of a folder above: links are not followed
        result.errors.append(WalkError(folder, "folder already visited (a loop), skipped"))
        return
    seen.add(key)
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        _cannot_list(result, folder, e, "cannot list folder")
        return
    for entry in entries:
        yield from _visit(entry, seen, result)


def _cannot_list(result: WalkResult, folder: str, error: OSError, what: str) -> None:
    """Record a folder we could not read; its catalogued pictures must not count as gone."""
    if isinstance(error, FileNotFoundError):
        reason = "folder vanished during the scan"
    else:
        reason = f"{what}: {error.strerror or error}"
    result.errors.append(WalkError(folder, reason))
    result.unlisted.append(folder)


def _visit(entry: os.DirEntry[str], seen: set[tuple[int, int]], result: WalkResult) -> Iterator[
    FileEntry
]:
    try:
        if entry.is_symlink():
            _link_skipped(entry, result)
            return
        if entry.is_dir(follow_symlinks=False):
            if entry.name == TRASH_DIR_NAME:
                result.unlisted.append(entry.path)  # trashed files keep their rows for undo
            elif entry.name not in SKIP_DIR_NAMES:
                yield from _walk_dir(entry.path, seen, result)
            return
        if entry.name.endswith(".txt"):
            result.sidecars[entry.path] = entry.stat(follow_symlinks=False).st_mtime_ns
            return
        if not is_image_name(entry.name):
            return
        st = entry.stat(follow_symlinks=False)
    except FileNotFoundError:
        return  # vanished between listing and stat: it is simply not there any more
    except OSError as e:
        result.errors.append(WalkError(entry.path, f"cannot stat: {e.strerror or e}"))
        return
    if not stat.S_ISREG(st.st_mode):
        return
    if st.st_nlink > 1:
        if (st.st_dev, st.st_ino) in result.linked:
            return  # another name of a file already listed
        result.linked.add((st.st_dev, st.st_ino))
    yield FileEntry(entry.path, st.st_size, st.st_mtime_ns)


def _link_skipped(entry: os.DirEntry[str], result: WalkResult) -> None:
    """Report a symbolic link to a folder or a picture (not followed); others are ignored."""
    target = os.path.realpath(entry.path)
    if os.path.isdir(target):
        reason = f"symbolic link to the folder {target}: not followed (scan that folder " \
            "by its own path to index it)"
    elif is_image_name(entry.name):
        reason = f"symbolic link to {target}: not followed (a picture is indexed where it " \
            "lives)"
    else:
        return
    result.errors.append(WalkError(entry.path, reason))
