"""Planning an export of clusters to folders named by their labels.

Only a plan: (source, destination) pairs. Whether each pair is moved, copied or linked
is the journal's business. Each image's sidecar caption (`name.txt`, or `name.png.txt`)
travels with it under the image's new stem. Folder names are sanitised for every
common filesystem and unique (case-insensitively); no destination repeats or exists.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from pathlib import Path

from illudex.cluster.result import ClusterResult

OUTLIER_FOLDER = "_outliers"
_MAX_NAME = 80
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
             *(f"lpt{i}" for i in range(1, 10))}


def sanitise_name(text: str, fallback: str = "cluster") -> str:
    """A folder name safe on Windows, macOS and Linux; `fallback` when nothing is left."""
    name = unicodedata.normalize("NFC", text)
    name = _FORBIDDEN.sub("_", name).strip().strip(".").strip()
    name = re.sub(r"\s+", "_", name)
    name = name[:_MAX_NAME].rstrip(". ")
    if not name or name.lower().split(".")[0] in _RESERVED:
        name = f"{fallback}_{name}" if name else fallback
    return name


def folder_names(result: ClusterResult, label_tags: int = 3) -> dict[int, str]:
    """Cluster id → unique folder name from its label (`cluster_07` when it has none)."""
    taken: set[str] = {OUTLIER_FOLDER.lower()}
    names: dict[int, str] = {}
    for cluster in result.clusters:
        fallback = f"cluster_{cluster.id:02d}"
        base = sanitise_name("+".join(cluster.label[:label_tags]), fallback) \
            if cluster.label else fallback
        names[cluster.id] = _unique(base, taken)
    return names


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while name.lower() in taken:
        name = f"{base}_{n}"
        n += 1
    taken.add(name.lower())
    return name


def sidecars_of(image: Path) -> list[Path]:
    """Caption files that belong to `image`: `stem.txt` and `name.ext.txt`, where present."""
    candidates = [image.with_suffix(".txt"), image.with_name(image.name + ".txt")]
    return [c for c in candidates if c != image and c.is_file()]


def export_plan(
    result: ClusterResult,
    dest_dir: str | Path,
    include_outliers: bool = True,
    label_tags: int = 3,
    clusters: Collection[int] | None = None,
) -> list[tuple[Path, Path]]:
    """(source, destination) pairs putting each cluster in its own folder under `dest_dir`.

    `clusters` names the clusters to export (default: all, with the outliers); folder
    names are the same as in a full export, so exporting one by one gives the same tree.

    Sidecars follow their image (renamed along with it when a name clash forces a new
    stem); a sidecar shared by two images (a.png, a.jpg → a.txt) goes with the first.
    """
    dest = Path(dest_dir)
    names = folder_names(result, label_tags)
    wanted = {c.id for c in result.clusters} if clusters is None else set(clusters)
    groups = [(dest / names[c.id], c.files) for c in result.clusters if c.id in wanted]
    if include_outliers and clusters is None and result.outlier_files:
        groups.append((dest / OUTLIER_FOLDER, result.outlier_files))
    plan: list[tuple[Path, Path]] = []
    # Destinations and sidecar sources already planned, case-folded (Windows, macOS).
    claimed: set[str] = set()
    for folder, files in groups:
        for src in sorted(Path(f) for f in files):
            plan.extend(_plan_one(src, folder, claimed))
    return plan


def _key(path: Path) -> str:
    return str(path).casefold()


def _plan_one(src: Path, folder: Path, claimed: set[str]) -> list[tuple[Path, Path]]:
    sidecars = [s for s in sidecars_of(src) if _key(s) not in claimed]
    stem, n = src.stem, 2
    while True:
        dst = folder / f"{stem}{src.suffix}"
        side_dsts = [_sidecar_dst(src, s, dst) for s in sidecars]
        if all(_key(d) not in claimed and not d.exists() for d in [dst, *side_dsts]):
            break
        stem = f"{src.stem}_{n}"
        n += 1
    pairs = [(src, dst), *zip(sidecars, side_dsts, strict=True)]
    claimed.update(_key(d) for _, d in pairs)
    claimed.update(_key(s) for s in sidecars)
    return pairs


def _sidecar_dst(image: Path, sidecar: Path, image_dst: Path) -> Path:
    if sidecar.name == image.name + ".txt":
        return image_dst.with_name(image_dst.name + ".txt")
    return image_dst.with_suffix(".txt")
