"""The one id-list idiom: any length in one statement, numpy integers and digests alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from illudex.catalog.db import connect
from illudex.catalog.idlists import IN_LIST, as_param


def test_a_list_past_sqlites_parameter_limit_is_one_statement(tmp_path: Path) -> None:
    conn = connect(tmp_path / "c.db")
    n = 40_000  # more than SQLITE_MAX_VARIABLE_NUMBER (32 766) placeholders could carry
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO folders (id, path, added_at) VALUES (?, ?, 0)",
                     [(i, f"/f{i}") for i in range(1, n + 1)])
    conn.execute("COMMIT")
    wanted = np.arange(2, n + 1, 2, dtype=np.int64)  # numpy integers are not JSON by default
    found = conn.execute(f"SELECT COUNT(*) FROM folders WHERE id IN {IN_LIST}",
                         (as_param(wanted),)).fetchone()[0]
    assert found == n // 2
    paths = conn.execute(f"SELECT id FROM folders WHERE path IN {IN_LIST} ORDER BY id",
                         (as_param(["/f3", "/f1", "/nowhere"]),)).fetchall()
    assert [r[0] for r in paths] == [1, 3]
    assert conn.execute(f"SELECT COUNT(*) FROM folders WHERE id IN {IN_LIST}",
                        (as_param([]),)).fetchone()[0] == 0
    conn.close()
