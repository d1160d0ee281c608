"""The one error teaching raises (to derive from IlludexError once issue 11 adds it)."""

from __future__ import annotations


class TeachError(ValueError):
    """A tag cannot be taught or applied; the message says why and what to do."""
