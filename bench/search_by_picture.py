"""Search by picture on a labelled corpus, through the real web API.

    python bench/search_by_picture.py CORPUS LIBRARY [--every 20]

CORPUS holds `images/` and `truth.json` (groups of duplicates, the original first), as
`make_dupes_corpus.py` writes them; LIBRARY is scanned from `CORPUS/images` first (an
incremental no-op when it already is). Every `--every`-th original is sent to
`POST /api/search/upload` as it is, and halved + saved as JPEG; for each we count whether
the first result is the original (as is) or in its group (halved), and the share of its
group found. `/api/images/{id}/similar` is asked for every picture of those groups: is it
empty, and how much of the group does it find.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image

from illudex.library import Library
from illudex.web import create_app

HEADERS = {"X-Illudex": "1", "Content-Type": "application/octet-stream"}


def halved_jpeg(path: Path) -> bytes:
    with Image.open(path) as im:
        im = im.convert("RGB")
        im = im.resize((max(1, im.width // 2), max(1, im.height // 2)), Image.LANCZOS)
        out = io.BytesIO()
        im.save(out, "JPEG", quality=85)
        return out.getvalue()


def upload(client: TestClient, data: bytes) -> list[str]:
    response = client.post("/api/search/upload?limit=50", content=data, headers=HEADERS)
    if response.status_code != 200:
        print(f"upload refused ({response.status_code}): {response.json()['error']}")
        return []
    return [item["path"] for item in response.json()["items"]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", type=Path)
    parser.add_argument("library", type=Path)
    parser.add_argument("--every", type=int, default=20)
    args = parser.parse_args()
    images = (args.corpus / "images").resolve()
    groups = json.loads((args.corpus / "truth.json").read_text())["groups"]
    with Library.open(args.library) as lib:
        lib.scan([images])
        ids = {row.path: i for i, row in lib.images(lib.image_ids([images])).items()}
    chosen = [g for g in groups if len(g) > 1][:: args.every]
    stats = {"queries": len(chosen), "self_first": 0, "empty": 0, "recall": [],
             "halved_group_first": 0, "halved_empty": 0, "halved_recall": [],
             "similar_asked": 0, "similar_empty": 0, "similar_recall": [],
             "results_per_upload": [], "results_per_similar": []}
    with TestClient(create_app(args.library), base_url="http://127.0.0.1:8765") as client:
        for group in chosen:
            paths = [str(images / name) for name in group]
            for key, data in (("", (images / group[0]).read_bytes()),
                              ("halved_", halved_jpeg(images / group[0]))):
                found = upload(client, data)
                stats["results_per_upload"].append(len(found))
                stats[f"{key}empty"] += not found
                first_ok = bool(found) and (found[0] == paths[0] if not key else
                                            found[0] in paths)
                stats["self_first" if not key else "halved_group_first"] += first_ok
                stats[f"{key}recall"].append(len(set(found) & set(paths)) / len(paths))
            for path in paths:
                response = client.get(f"/api/images/{ids[path]}/similar?limit=50")
                found = {item["path"] for item in response.json().get("items", [])}
                stats["similar_asked"] += 1
                stats["results_per_similar"].append(len(found))
                stats["similar_empty"] += not found
                others = set(paths) - {path}
                if others:
                    stats["similar_recall"].append(len(found & others) / len(others))
    for key in ("recall", "halved_recall", "similar_recall", "results_per_upload",
                "results_per_similar"):
        values = stats[key]
        stats[key] = round(sum(values) / len(values), 3) if values else None
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
