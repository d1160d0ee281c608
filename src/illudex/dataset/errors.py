"""The one error the dataset pipeline raises for a request it cannot carry out.

Kept in its own module so that it can derive from the project's single error base
(issue 11) without touching the pipeline: the message is written for the user.
"""

from __future__ import annotations


class DatasetError(Exception):
    """A spec, step, source or export that cannot be used, with the reason in words."""
