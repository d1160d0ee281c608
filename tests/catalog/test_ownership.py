"""The catalog owns every transaction and the embeddings table: no module outside
`illudex.catalog` opens a transaction or reads vectors by hand."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "illudex"
TRANSACTION = re.compile(r"\b(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b")
EMBEDDINGS_SQL = re.compile(r"\b(FROM|INTO|UPDATE)\s+embeddings\b", re.IGNORECASE)


def _outside_catalog() -> list[Path]:
    return [p for p in SRC.rglob("*.py") if "catalog" not in p.relative_to(SRC).parts[:1]]


def test_no_transaction_statement_outside_the_catalog() -> None:
    found = [f"{p.relative_to(SRC)}:{n}" for p in _outside_catalog()
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if TRANSACTION.search(line)]
    assert found == []


def test_no_embeddings_sql_outside_the_catalog() -> None:
    found = [f"{p.relative_to(SRC)}:{n}" for p in _outside_catalog()
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if EMBEDDINGS_SQL.search(line)]
    assert found == []
