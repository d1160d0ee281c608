"""Fixtures for model tests (shared with the other model test folders)."""

import sys
from pathlib import Path

# The repository root, so `tests.fixtures` imports however pytest was started.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fixtures.model_env import (  # noqa: F401
    catalog,
    clip_dir,
    isolated_models,
    tagger_dir,
)
