"""The CCIP character filter: keep the pictures of the one main character.

The main character is the largest DBSCAN cluster of CCIP features among the first
pictures (or given reference pictures); every picture is compared with it and its
difference kept in `meta["ccip"]`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from illudex.dataset.items import Dropped, Item
from illudex.dataset.modelrun import (
    ModelStep,
    ModelUse,
    Outcome,
    cached_values,
    decode_workers,
    list_param,
    load_analyser,
    model_id,
    model_outputs,
    open_upright,
    recipe_key,
    run_method,
)
from illudex.dataset.step import ItemStep, Param
from illudex.models import deepghs

if TYPE_CHECKING:
    import numpy as np


class CharacterFilter(ModelStep):
    name = "ccip"
    help = ("Keep the pictures of the one main character (CCIP): the largest cluster "
            "among the first `first_n` pictures (or the `references` pictures) is the "
            "character; every picture is compared with it, others are dropped with their "
            "difference in the report.")
    params = (Param("model", deepghs.DEFAULT_CCIP, "CCIP name, folder or model_feat.onnx"),
              Param("references", [], "pictures of the character (paths); [] to find it"),
              Param("first_n", 15, "pictures the main character is found among"),
              Param("threshold", None, "same character at difference <= this (None: the "
                                       "model's metrics.json)"),
              Param("same_ratio", 0.5, "share of the character's pictures a picture must "
                                       "match to be kept"))

    def check(self) -> None:
        list_param(self, "references")

    def apply(self, items: list[Item], context: Any) -> Outcome:
        if not items:
            return items, []
        import numpy as np

        from illudex.analysers.ccip import CCIP

        model = CCIP.load(self.model)
        threshold = model.threshold if self.threshold is None else float(self.threshold)
        feats = np.asarray(self.features(items, context, model), np.float32)
        main, note = self.main_character(model, feats, threshold)
        if main is None:
            for item in items:
                item.meta["ccip"] = {"note": note}
            return items, []
        return self.compare(items, feats, main, model, threshold, note)

    def features(self, items: list[Item], context: Any, model: Any) -> list[list[float]]:
        recipe = recipe_key("ccip", model_id(self.model))[:16]

        def compute(missing: list[Item]) -> Iterator[list[float]]:
            use = ModelUse(partial(load_analyser, "illudex.analysers.ccip:CCIP", str(self.model)),
                           partial(run_method, "features_prepared", ()))
            for row, _ in model_outputs(missing, model, model.prep, use,
                                        decode_workers(context), context):
                yield row.tolist()

        return cached_values(context.cache, items, lambda i: f"ccip-{i.key}-{recipe}", compute)

    def main_character(self, model: Any, feats: np.ndarray, threshold: float
                       ) -> tuple[np.ndarray | None, str]:
        """The features of the main character's pictures, and how they were chosen."""
        if self.references:
            refs = [open_upright(os.path.expanduser(p)) for p in self.references]
            return model.features(refs), f"{len(refs)} reference picture(s)"
        pool = feats[: int(self.first_n)]
        if len(pool) < 2:
            return None, "one picture only: nothing to compare, kept"
        labels = main_cluster(model.differences(pool), threshold)
        if labels is None:
            return None, (f"no two of the first {len(pool)} pictures show one character "
                          f"(threshold {threshold:.3f}): kept all, undecided")
        note = f"main character: {len(labels)} of the first {len(pool)} pictures"
        if len(pool) < int(self.first_n):
            note += f" (only {len(pool)} pictures: fewer than first_n = {self.first_n})"
        return pool[labels], note

    def compare(self, items: list[Item], feats: np.ndarray, main: np.ndarray, model: Any,
                threshold: float, note: str) -> Outcome:
        import numpy as np

        kept, dropped = [], []
        for start in range(0, len(items), 256):  # the metric is N x N: bounded chunks
            chunk = feats[start:start + 256]
            diffs = model.differences(np.concatenate([main, chunk]))[len(main):, :len(main)]
            for item, row in zip(items[start:start + 256], diffs, strict=True):
                share = float(np.mean(row <= threshold))
                diff = float(np.median(row))
                item.meta["ccip"] = {"difference": round(diff, 4), "same_share": share,
                                     "threshold": threshold, "note": note}
                if share >= float(self.same_ratio):
                    kept.append(item)
                else:
                    dropped.append(Dropped(item, self.name, (
                        f"another character: difference {diff:.3f} to the main one "
                        f"(same at <= {threshold:.3f}; matches {share:.0%} of its pictures)")))
        return kept, dropped


def main_cluster(differences: np.ndarray, threshold: float) -> np.ndarray | None:
    """Indexes of the largest DBSCAN cluster (eps = threshold, min_samples = 2, as
    imgutils' ccip_clustering 'dbscan' mode), or None when every picture is alone."""
    import numpy as np
    from sklearn.cluster import DBSCAN

    d = np.clip((differences + differences.T) / 2, 0, None)
    np.fill_diagonal(d, 0)
    labels = DBSCAN(eps=threshold, min_samples=2, metric="precomputed").fit(d).labels_
    found = labels[labels >= 0]
    if not found.size:
        return None
    return np.flatnonzero(labels == np.bincount(found).argmax())


STEPS: tuple[type[ItemStep], ...] = (CharacterFilter,)
