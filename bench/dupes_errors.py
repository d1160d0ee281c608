#!/usr/bin/env python3
"""Where a duplicate report goes wrong on a labelled corpus: the alternates it missed
and the ones it made up, the groups whose suggested keeper is not the original, and
the duplicate pairs it missed or invented (by kind of edit).

    illudex dupes /work/corpora/mixed1/images --json > mixed1.json
    .venv/bin/python bench/dupes_errors.py /work/corpora/mixed1/truth.json mixed1.json

The truth is `make_dupes_corpus.py`'s truth.json (the first file of each group is the
original; edited copies are named `*_eN_KIND.*`). `score_dupes.py` gives the totals;
this lists the cases behind them.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import os
from collections.abc import Iterable

from dupes import group_original  # the bench's rule for a found group's original

Pair = tuple[str, str]


def _name(path: str) -> str:
    return os.path.basename(path)


def _pairs(groups: Iterable[Iterable[str]]) -> set[Pair]:
    out: set[Pair] = set()
    for group in groups:
        out.update(itertools.combinations(sorted(_name(f) for f in group), 2))
    return out


def _edit(name: str) -> str:
    """The edit a copy's name records ("orig" for the original)."""
    stem = os.path.splitext(name)[0]
    return stem.rsplit("_", 1)[-1] if "_e" in stem else "orig"


def alternates(truth: dict, report: dict, root: dict[str, str]) -> None:
    kinds = {tuple(sorted(k.split("|"))): v for k, v in truth.get("alternate_kinds", {}).items()}
    labelled = {tuple(sorted(a)) for a in truth["alternates"]}
    shown: set[Pair] = set()
    for entry in report.get("alternates", []):
        files = entry["files"] if isinstance(entry, dict) else entry
        for a, b in itertools.combinations(files, 2):
            ra, rb = root.get(_name(a)), root.get(_name(b))
            if ra and rb and ra != rb:
                shown.add((min(ra, rb), max(ra, rb)))
    print(f"missed alternates: {len(labelled - shown)} of {len(labelled)}")
    for pair in sorted(labelled - shown):
        print(f"  {kinds.get(pair, '?'):13s} {pair[0]}  ~  {pair[1]}")
    print(f"shown but not labelled alternates: {len(shown - labelled)} of {len(shown)}")
    for pair in sorted(shown - labelled):
        print(f"  {pair[0]}  ~  {pair[1]}")


def keepers(report: dict, root: dict[str, str]) -> None:
    wrong = []
    for group in report["groups"]:
        names = [_name(f) for f in group["files"]]
        original = group_original(names, root)
        if original is None:
            continue  # nothing in it is labelled
        if _name(group["keep"]) != original:
            lacks = "" if original in names else " (the group lacks the original)"
            wrong.append(f"  kept {_name(group['keep'])}, not {original}{lacks}: "
                         f"{group.get('reason', '')}")
    print(f"groups whose keeper is not the original: {len(wrong)} of {len(report['groups'])}")
    print("\n".join(wrong))


def pairs(truth: dict, report: dict, root: dict[str, str]) -> None:
    true, found = _pairs(truth["groups"]), _pairs(g["files"] for g in report["groups"])
    invented = collections.Counter((root[a], root[b]) for a, b in found - true)
    print(f"duplicate pairs invented: {len(found - true)} (by pair of originals)")
    for (a, b), n in invented.most_common(20):
        print(f"  {n:3d}  {a}  +  {b}")
    missed = collections.Counter(tuple(sorted((_edit(a), _edit(b)))) for a, b in true - found)
    print(f"duplicate pairs missed: {len(true - found)} (by edits)")
    for (a, b), n in missed.most_common(20):
        print(f"  {n:3d}  {a} / {b}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("truth", help="the corpus's truth.json")
    parser.add_argument("report", help="`illudex dupes DIR --json` output")
    args = parser.parse_args()
    with open(args.truth) as f:
        truth = json.load(f)
    with open(args.report) as f:
        report = json.load(f)
    root = {name: group[0] for group in truth["groups"] for name in group}
    alternates(truth, report, root)
    keepers(report, root)
    pairs(truth, report, root)


if __name__ == "__main__":
    main()
