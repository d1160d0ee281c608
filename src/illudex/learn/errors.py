"""The one error teaching raises."""

from __future__ import annotations

from illudex.errors import InvalidInput


class TeachError(InvalidInput):
    """A tag cannot be taught or applied; the message says why and what to do."""
