"""Where booru downloads live, and the manifest that makes them resumable.

`LIB/booru/manifest.jsonl` gets one line per finished download, `{"md5", "path", "site",
"id"}`, written (and fsynced) only after the file is complete, verified and renamed into
place; a download in progress is `ID.EXT.part`. So after a kill -9 at any point a rerun
finds each finished file through the manifest (or, killed between the rename and the
manifest line, by its name and md5) and downloads only what was not finished. The
manifest is shared by every site: a picture Danbooru and Gelbooru both have is fetched
once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "manifest.jsonl"


@dataclass(frozen=True)
class Entry:
    md5: str | None
    path: str
    site: str
    id: int


class DownloadStore:
    def __init__(self, root: Path, site: str) -> None:
        self.root = root  # LIB/booru
        self.site = site
        self.folder = root / safe_name(site)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._by_md5: dict[str, Entry] = {}
        self._by_post: dict[tuple[str, int], Entry] = {}
        for entry in _read_manifest(root / MANIFEST):
            self._remember(entry)
        _end_torn_line(root / MANIFEST)

    def known(self, md5: str | None, post_id: int) -> str | None:
        """The path of a finished download of this picture, if one is still there."""
        entry = self._by_md5.get(md5) if md5 else self._by_post.get((self.site, post_id))
        if entry is not None and os.path.isfile(entry.path):
            return entry.path
        return None

    def target(self, post_id: int, ext: str) -> Path:
        return self.folder / f"{post_id}.{ext}"

    def adopt(self, path: Path, md5: str | None, post_id: int) -> bool:
        """A file at the target path the manifest does not list (killed before its line was
        written): take it when its md5 is the post's (it was renamed only once verified)."""
        if not path.is_file():
            return False
        if md5 is not None and file_md5(path) != md5:
            return False
        self.record(path, md5, post_id)
        return True

    def record(self, path: Path, md5: str | None, post_id: int) -> None:
        entry = Entry(md5=md5, path=str(path), site=self.site, id=post_id)
        line = json.dumps({"md5": md5, "path": entry.path, "site": self.site, "id": post_id})
        with open(self.root / MANIFEST, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._remember(entry)

    def _remember(self, entry: Entry) -> None:
        if entry.md5:
            self._by_md5[entry.md5] = entry
        self._by_post[(entry.site, entry.id)] = entry


def finish(part: Path, final: Path) -> None:
    """Move a verified part file into place (atomic on one file system) and make the new
    name durable before the manifest line that points at it."""
    os.replace(part, final)
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_sidecar(path: Path, data: dict[str, Any]) -> None:
    """`ID.json` beside the download: the post's metadata, written whole or not at all,
    and left alone when unchanged (its mtime then says when the post last changed)."""
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8") == text:
            return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def safe_name(site: str) -> str:
    """A site name as a folder name and a tag source: no separators, no dots first."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", site).strip("._")
    return name or "booru"


def _end_torn_line(path: Path) -> None:
    """End a line a kill left half-written, so the next entry starts on a line of its own."""
    with contextlib.suppress(FileNotFoundError), open(path, "rb+") as f:
        if f.seek(0, os.SEEK_END) > 0:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")


def _read_manifest(path: Path) -> list[Entry]:
    """Entries of the manifest; a torn last line (a kill mid-write) is skipped."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        try:
            item = json.loads(line)
            out.append(Entry(md5=item.get("md5"), path=str(item["path"]),
                             site=str(item["site"]), id=int(item["id"])))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return out
