"""Labels are the tags that set a cluster apart, not its most frequent ones."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from illudex.cluster.features import TagMatrix
from illudex.cluster.labels import cluster_tag_counts, label_clusters


def _matrix(rows: list[list[str]]) -> TagMatrix:
    names = sorted({t for r in rows for t in r})
    data = [(i, names.index(t)) for i, r in enumerate(rows) for t in r]
    r, c = zip(*data, strict=True)
    m = sp.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=(len(rows), len(names)))
    return TagMatrix(np.arange(len(rows)), m, names)


def _labels(rows: list[list[str]], labels: list[int], max_tags: int = 3) -> list[list[str]]:
    tags = _matrix(rows)
    assignment = np.array(labels)
    counts, sizes = cluster_tag_counts(tags, np.arange(len(rows)), assignment,
                                       assignment.max() + 1)
    return [[t.tag for t in ts] for ts in label_clusters(counts, sizes, tags.tag_names,
                                                         max_tags)]


def test_frequent_everywhere_tags_never_label() -> None:
    rows = [["1girl", "red_hair", "sword"]] * 6 + [["1girl", "blue_hair"]] * 6
    assert _labels(rows, [0] * 6 + [1] * 6) == [["red_hair", "sword"], ["blue_hair"]]


def test_needs_most_members_and_ranks_by_support_times_lift() -> None:
    # 'hat' is on 3 of 8 members only (below half); 'cape' is on all 8 but also elsewhere.
    inside = [["cape", "staff"]] * 5 + [["cape", "staff", "hat"]] * 3
    outside = [["cape"]] * 2 + [["other"]] * 10
    names = _labels(inside + outside, [0] * 8 + [1] * 12)[0]
    assert names == ["staff", "cape"]


def test_falls_back_to_lower_support_and_skips_outliers() -> None:
    rows = [["a"], ["b"], ["c"], ["d"], ["x"], ["x"], ["x"], ["a"]]
    result = _labels(rows, [0, 0, 0, 0, 1, 1, 1, -1])
    assert result[1] == ["x"]
    assert set(result[0]) <= {"a", "b", "c", "d"} and result[0]  # each on 1/4: fallback
    assert "a" in result[0]  # the outlier's 'a' does not count against cluster 0
