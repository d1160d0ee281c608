"""The one error clustering raises for bad input: its message says what to do."""

from __future__ import annotations

from illudex.errors import InvalidInput


class ClusterError(InvalidInput):
    """Clustering cannot run on this input; the message names the problem and the fix."""
