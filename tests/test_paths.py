"""Paths as the catalog stores them: readable text, the real bytes kept where they differ."""

from __future__ import annotations

import os
import sqlite3

from illudex.paths import from_catalog, is_under, sidecar_path, to_catalog


def test_utf8_names_are_stored_as_they_are() -> None:
    for name in ("/art/a b.png", "/art/絵 ✨.png", "/art/-dash.png", "/art/new\nline.png"):
        assert to_catalog(name) == (name, None)
        assert from_catalog(name, None) == name


def test_undecodable_bytes_keep_their_bytes_and_read_as_escapes() -> None:
    real = os.fsdecode(b"/art/\xff\xfe caf\xc3\xa9.png")
    display, raw = to_catalog(real)
    assert display == "/art/\\xff\\xfe café.png"
    assert raw == b"/art/\xff\xfe caf\xc3\xa9.png"
    assert from_catalog(display, raw) == real
    # The display form is plain text that SQLite can hold; the real name is not.
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (path TEXT, raw BLOB)")
    conn.execute("INSERT INTO t VALUES (?, ?)", (display, raw))
    assert from_catalog(*conn.execute("SELECT path, raw FROM t").fetchone()) == real


def test_sidecar_path() -> None:
    assert sidecar_path("/a/b.png") == "/a/b.txt"
    assert sidecar_path("/a/b.c.jpeg") == "/a/b.c.txt"
    assert sidecar_path("/a.d/b") == "/a.d/b.txt"


def test_is_under() -> None:
    assert is_under("/a/b/c.png", "/a")
    assert is_under("/a/b/c.png", "/a/")
    assert is_under("/a", "/a")
    assert not is_under("/ab/c.png", "/a")
    assert not is_under("/a", "/a/b")
    assert is_under("/anything", "/")
