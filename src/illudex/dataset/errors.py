"""The one error the dataset pipeline raises for a request it cannot carry out.

Kept in its own module so that every part of the pipeline can raise it without
importing the others; the message is written for the user.
"""

from __future__ import annotations

from illudex.errors import InvalidInput


class DatasetError(InvalidInput):
    """A spec, step, source or export that cannot be used, with the reason in words."""
