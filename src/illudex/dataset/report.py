"""report.html beside the export: what was kept and what each step dropped, and why.

A kept picture is shown by its exported file (nothing more to make); a dropped one by
the library's cached thumbnail of its source, linked into DIR/.report/ so the page works
when the folder is moved or shared.
"""

from __future__ import annotations

import html
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from illudex.dataset.files import write_if_changed
from illudex.dataset.items import Dropped, Item

REPORT = "report.html"
THUMBS = ".report"
PER_GROUP = 400  # thumbnails shown per group; the count says how many there are

Thumb = Callable[[Item], str | None]

STYLE = """body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h2{margin-top:1.6em}h3{font-weight:500;margin:1em 0 .3em}
.grid{display:flex;flex-wrap:wrap;gap:6px}.grid figure{margin:0;width:168px}
.grid img{width:160px;height:160px;object-fit:contain;background:#eee;display:block}
figcaption{font-size:11px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.n{color:#666;font-weight:normal}"""


def write_report(out: Path, title: str, kept: list[Item], dropped: list[Dropped],
                 errors: list[dict[str, str]], thumb: Thumb) -> Path:
    folder = out / THUMBS
    folder.mkdir(parents=True, exist_ok=True)
    parts = [f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>",
             f"<style>{STYLE}</style><h1>{html.escape(title)}</h1>",
             f"<p>{len(kept)} kept, {len(dropped)} dropped, {len(errors)} error(s).</p>"]
    parts.append(f"<h2>Kept <span class=n>({len(kept)})</span></h2>")
    parts.append(_grid(folder, [(i, i.caption) for i in kept], thumb))
    by_step: dict[str, dict[str, list[Dropped]]] = defaultdict(lambda: defaultdict(list))
    for d in dropped:
        by_step[d.step][re.sub(r"\d+(\.\d+)?", "N", d.reason)].append(d)
    for step, reasons in by_step.items():
        total = sum(len(v) for v in reasons.values())
        parts.append(f"<h2>Dropped by {html.escape(step)} <span class=n>({total})</span></h2>")
        for reason, group in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
            parts.append(f"<h3>{html.escape(reason)} <span class=n>({len(group)})</span></h3>")
            parts.append(_grid(folder, [(d.item, d.reason) for d in group], thumb))
    if errors:
        parts.append("<h2>Errors</h2><ul>" + "".join(
            f"<li>{html.escape(e['path'])}: {html.escape(e['error'])}</li>" for e in errors)
            + "</ul>")
    page = out / REPORT
    write_if_changed(page, "\n".join(parts))
    return page


def _grid(folder: Path, entries: list[tuple[Item, str]], thumb: Thumb) -> str:
    cells = []
    for item, note in entries[:PER_GROUP]:
        src = _linked(folder, item, thumb)
        img = f"<img loading=lazy src=\"{html.escape(src)}\" alt=\"\">" if src else ""
        cells.append(f"<figure title=\"{html.escape(item.source)}\n{html.escape(note)}\">{img}"
                     f"<figcaption>{html.escape(item.name)}</figcaption></figure>")
    more = len(entries) - PER_GROUP
    tail = f"<p class=n>… and {more} more</p>" if more > 0 else ""
    return f"<div class=grid>{''.join(cells)}</div>{tail}"


def _linked(folder: Path, item: Item, thumb: Thumb) -> str | None:
    if item.exported:
        return item.exported
    found = thumb(item)
    if not found:
        return None
    name = f"{item.key[:24]}.webp"
    target = folder / name
    if not target.exists():
        try:
            os.link(found, target)
        except OSError:
            shutil.copyfile(found, target)
    return f"{THUMBS}/{name}"
