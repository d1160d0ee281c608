"""What a named model is: its kind and the entry `illudex models list` shows.

Kept apart from `registry` (which resolves names and paths) so that the catalogues of
named models (`deepghs`, the registry's own) can build entries without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["tagger", "clip", "detector", "classifier", "ccip", "upscaler", "embedder"]


@dataclass(frozen=True)
class ModelInfo:
    """One named model, as `illudex models list` shows it."""

    name: str
    kind: Kind
    repo_id: str
    description: str
    n_tags: int | None = None  # taggers: rows of selected_tags.csv
    embedding_dim: int | None = None
    default: bool = False
    files: tuple[str, ...] = ()  # in the repo; empty: the kind's standard files
    licence: str = ""
