#!/usr/bin/env python3
"""Keeper accuracy alone: on labelled corpora, how often the suggested keeper is the
original (the first file of its truth group), with the default preference and with the
old one (`resolution,lossless,size,tags,older`) on the same groups.

    .venv/bin/python bench/dupes_keeper.py /work/corpora/mixed1 /work/corpora/lineart1

Each corpus is scanned into a fresh library (kept under --work); no timings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dupes import originals_kept

OLD = "resolution,lossless,size,tags,older"


def kept(corpus: Path, library: Path, prefer: str | None) -> tuple[int, int]:
    illudex = str(Path(sys.executable).with_name("illudex"))
    args = [illudex, "dupes", str(corpus / "images"), "--json", "--library", str(library)]
    out = subprocess.run([*args, *(["--prefer", prefer] if prefer else [])],
                         check=True, capture_output=True, text=True).stdout
    found = json.loads(out)
    groups = [sorted(os.path.basename(f) for f in g["files"]) for g in found["groups"]]
    keepers = [os.path.basename(g["keep"]) for g in found["groups"]]
    return originals_kept(json.loads((corpus / "truth.json").read_text()), groups, keepers)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpora", type=Path, nargs="+", help="folders with images/ and truth.json")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()))
    a = ap.parse_args()
    print(f"{'corpus':<14}{'groups':>8}{'before':>16}{'after':>16}")
    for corpus in a.corpora:
        library = Path(tempfile.mkdtemp(prefix=f"keeper-{corpus.name}-", dir=a.work))
        new_kept, n = kept(corpus, library, None)
        old_kept, _ = kept(corpus, library, OLD)
        print(f"{corpus.name:<14}{n:>8}{old_kept:>9} ({old_kept / max(n, 1):.1%})"
              f"{new_kept:>9} ({new_kept / max(n, 1):.1%})")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
