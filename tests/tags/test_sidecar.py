"""Reading and formatting sidecar .txt files in the booru convention."""

from __future__ import annotations

from pathlib import Path

import pytest

from illudex.tags.sidecar import (
    format_sidecar,
    normalise_tag,
    parse_tags,
    read_sidecar,
    sidecar_path,
    tag_text,
)


def test_booru_comma_space_line(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("1girl, long hair, hatsune miku \\(vocaloid\\), ^_^, >_<, solo\n")
    assert read_sidecar(path) == [
        "1girl", "long_hair", "hatsune_miku_(vocaloid)", "^_^", ">_<", "solo"]


def test_tolerant_separators_case_bom_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "b.txt"
    path.write_bytes("\ufeffLong_Hair,smile\r\nblue  eyes,,  ,\nsmile\n".encode())
    assert read_sidecar(path) == ["long_hair", "smile", "blue_eyes"]


def test_empty_and_undecodable_files(tmp_path: Path) -> None:
    empty = tmp_path / "e.txt"
    empty.write_bytes(b"")
    assert read_sidecar(empty) == []
    latin = tmp_path / "l.txt"
    latin.write_bytes(b"caf\xe9, solo")
    assert read_sidecar(latin)[1] == "solo"  # a bad byte never loses the rest
    with pytest.raises(OSError):
        read_sidecar(tmp_path / "missing.txt")


def test_normalise_and_write_back_round_trip() -> None:
    names = ["long_hair", "saber_(fate)", "^_^", "0_0", "looking_at_viewer"]
    text = format_sidecar(names)
    assert text == "long hair, saber \\(fate\\), ^_^, 0_0, looking at viewer"
    assert parse_tags(text) == names
    assert format_sidecar(names, spaces=False, escape_parens=False) == ", ".join(names)
    assert normalise_tag("  Saber \\(Fate\\) ") == "saber_(fate)"
    assert tag_text("(o)_(o)") == "\\(o\\)_\\(o\\)"  # a kaomoji keeps its underscore


def test_sidecar_path_is_the_same_name_txt(tmp_path: Path) -> None:
    assert sidecar_path(tmp_path / "x.y.png") == tmp_path / "x.y.txt"


@pytest.mark.parametrize("text", ["1girl， solo， yellow eyes", "1girl、solo、yellow eyes",
                                  "1girl､ solo﹐yellow eyes", "1girl,solo﹑ yellow eyes"])
def test_full_width_and_ideographic_commas_separate_tags(text: str) -> None:
    assert parse_tags(text) == ["1girl", "solo", "yellow_eyes"]
