"""The one way to hand SQLite a list of ids (or digests): one JSON parameter.

    conn.execute(f"SELECT … WHERE id IN {IN_LIST}", (as_param(ids),))

One statement for any length (no host-parameter limit, no chunk loop), so the list can
sit inside a join, a GROUP BY or an ORDER BY like any other condition. Measured against
900-item chunks of `IN (?, …)` in docs/decisions.md ("Id lists").
"""

from __future__ import annotations

import json
from collections.abc import Iterable

IN_LIST = "(SELECT value FROM json_each(?))"


def as_param(values: Iterable[int | str]) -> str:
    """`values` as the JSON text `IN_LIST` reads (numpy integers become plain ints)."""
    return json.dumps([v if isinstance(v, str) else int(v) for v in values])
