"""Write the kept pictures in a trainer's layout.

| format | layout |
|---|---|
| kohya | DIR/img/{repeats}_{name}/NAME.EXT + .txt; DIR/reg/… for [reg]; dataset.toml |
| kohya-finetune | DIR/img/NAME.EXT; DIR/meta.json {NAME: {caption, tags, train_resolution}} |
| textual-inversion | DIR/NAME.EXT + NAME.txt (waifuc's TextualInversionExporter) |
| hf-imagefolder | DIR/NAME.EXT; DIR/metadata.jsonl (file_name, tags, caption, rating) |
| files | DIR/NAME.EXT + NAME_meta.json (JSON, never pickle) |

Pictures are hard-linked where possible (the cache's results, or an untouched source),
else copied; a file already there with the same content is left alone, so a re-run with
nothing changed writes nothing. Files a previous export wrote that this one no longer
has are removed (only those: the manifest names them).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from illudex.dataset.files import write_if_changed
from illudex.dataset.items import Item
from illudex.dataset.kohya import dataset_config, to_toml
from illudex.dataset.spec import ExportSpec

MANIFEST = ".illudex-dataset.json"


@dataclass
class Written:
    files: set[str] = field(default_factory=set)  # relative to the export folder
    changed: int = 0


def export(out: Path, spec: ExportSpec, train: list[Item], reg: list[Item] | None,
           reg_name: str, reg_repeats: int, copy: bool) -> Written:
    out.mkdir(parents=True, exist_ok=True)
    written = Written()
    put = _Placer(out, written, copy)
    if spec.format == "kohya":
        dirs = [(f"img/{spec.repeats}_{spec.name}", train, spec.repeats, False)]
        if reg:
            dirs.append((f"reg/{reg_repeats}_{reg_name}", reg, reg_repeats, True))
        subsets = []
        for folder, items, repeats, is_reg in dirs:
            for item in _unique(items):
                put.picture(f"{folder}/{item.name}", item)
                put.text(f"{folder}/{item.name}.txt", item.caption)
            subset = {"image_dir": str(out / folder), "num_repeats": repeats,
                      "class_tokens": reg_name if is_reg else (spec.class_tokens or spec.name)}
            subsets.append({**subset, "is_reg": True} if is_reg else subset)
        put.text("dataset.toml", to_toml(dataset_config(spec, subsets)))
    elif spec.format == "kohya-finetune":
        meta = {}
        for item in _unique(train):
            put.picture(f"img/{item.name}", item)
            meta[item.name] = {"caption": item.caption, "tags": item.caption,
                               "train_resolution": [item.width, item.height]}
        put.text("meta.json", json.dumps(meta, ensure_ascii=False, indent=1))
        subset = {"image_dir": str(out / "img"), "metadata_file": str(out / "meta.json"),
                  "num_repeats": spec.repeats}
        put.text("dataset.toml", to_toml(dataset_config(spec, [subset])))
    elif spec.format == "textual-inversion":
        for item in _unique(train):
            put.picture(item.name, item)
            put.text(f"{item.name}.txt", item.caption)
    elif spec.format == "hf-imagefolder":
        lines = []
        for item in _unique(train):
            name = put.picture(item.name, item)
            lines.append(json.dumps({"file_name": name, "tags": item.tags,
                                     "caption": item.caption, "rating": item.rating},
                                    ensure_ascii=False))
        put.text("metadata.jsonl", "".join(f"{line}\n" for line in lines))
    else:  # files
        for item in _unique(train):
            put.picture(item.name, item)
            put.text(f"{item.name}_meta.json", json.dumps(_meta(item), ensure_ascii=False,
                                                          indent=1))
    _remove_stale(out, written.files)
    return written


def _unique(items: Iterable[Item]) -> list[Item]:
    """Two pictures with one name (same stem in two folders): the later gets _2, _3 …"""
    taken: set[str] = set()
    out = []
    for item in items:
        base = item.name or item.digest[:16]
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}_{n}"
        item.name = name
        taken.add(name.lower())
        out.append(item)
    return out


def _meta(item: Item) -> dict[str, Any]:
    return {"source": item.source, "digest": item.digest, "image_id": item.image_id,
            "width": item.width, "height": item.height, "tags": item.tags,
            "categories": item.categories, "rating": item.rating, "meta": item.meta}


class _Placer:
    def __init__(self, out: Path, written: Written, copy: bool) -> None:
        self.out, self.written, self.copy = out, written, copy

    def picture(self, stem: str, item: Item) -> str:
        """Place the item's file as `stem` + its suffix; returns the relative name."""
        rel = stem + (os.path.splitext(item.file)[1].lower() or ".png")
        target = self.out / rel
        self.written.files.add(rel)
        item.exported = rel
        if target.exists() and _same(item.file, target):
            return rel
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        part.unlink(missing_ok=True)
        try:
            if self.copy:
                raise OSError("copy asked for")
            os.link(item.file, part)
        except OSError:
            shutil.copyfile(item.file, part)
        os.replace(part, target)
        self.written.changed += 1
        return rel

    def text(self, rel: str, text: str) -> None:
        self.written.files.add(rel)
        if write_if_changed(self.out / rel, text):
            self.written.changed += 1


def _same(source: str, target: Path) -> bool:
    try:
        a, b = os.stat(source), target.stat()
    except OSError:
        return False
    if (a.st_ino, a.st_dev) == (b.st_ino, b.st_dev):
        return True
    # A copy: same size and not older than its source (we wrote it after).
    return a.st_size == b.st_size and b.st_mtime_ns >= a.st_mtime_ns


def _remove_stale(out: Path, files: set[str]) -> None:
    """Drop what the last export wrote and this one did not (only files we wrote)."""
    manifest = out / MANIFEST
    try:
        before = set(json.loads(manifest.read_text(encoding="utf-8")).get("files", []))
    except (OSError, ValueError):
        before = set()
    for rel in sorted(before - files):
        target = out / rel
        if target.resolve().is_relative_to(out.resolve()):
            target.unlink(missing_ok=True)
    write_if_changed(manifest, json.dumps({"files": sorted(files)}))
