"""The pipeline through the real path: a real library scans a real folder, steps run on
real files, exports land on disk, and sd-scripts' own schema checks dataset.toml."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest
from PIL import Image

from illudex.dataset.errors import DatasetError
from illudex.dataset.pipeline import build
from illudex.dataset.spec import parse_spec
from illudex.imageio import file_digest
from illudex.library import Library
from tests.dataset.sdscripts_schema import sanitize

KOHYA_STEPS = [{"use": "mode-convert"}, {"use": "dedupe"}, {"use": "min-size", "size": 256},
               {"use": "align-min-size", "size": 512}, {"use": "pad", "size": 512}]


def spec_for(art: Path, out: Path, steps: list[dict] | None = None, **export: object):
    return parse_spec({"source": {"paths": [str(art)]}, "step": steps or [],
                       "export": {"format": "kohya", "dir": str(out), "name": "girl",
                                  "repeats": 10, **export}})


def digests(folder: Path) -> dict[str, str]:
    return {p.name: file_digest(p) for p in sorted(folder.iterdir())}


def test_kohya_export_loads_with_sd_scripts_schema_and_sources_never_change(
    library: Library, art: Path, tmp_path: Path
) -> None:
    before = digests(art)
    report = build(library, spec_for(art, tmp_path / "out", KOHYA_STEPS))
    assert digests(art) == before  # sources untouched, no new files beside them
    out = tmp_path / "out"
    config = tomllib.loads((out / "dataset.toml").read_text())
    sanitize(config)  # raises where sd-scripts would refuse the file
    subset = config["datasets"][0]["subsets"][0]
    assert config["general"]["caption_extension"] == ".txt"
    assert subset["num_repeats"] == 10 and subset["class_tokens"] == "girl"
    folder = Path(subset["image_dir"])
    assert folder == out / "img" / "10_girl"
    pictures = sorted(p for p in folder.iterdir() if p.suffix != ".txt")
    captions = sorted(p for p in folder.iterdir() if p.suffix == ".txt")
    assert [p.stem for p in pictures] == [c.stem for c in captions]  # one caption each
    # p0 and its exact copy appear once; small.png is under 256 px.
    assert sum(p.stem in ("p0", "copy_of_p0") for p in pictures) == 1
    assert "small" not in {p.stem for p in pictures}
    assert report.as_json()["dropped"] == {"dedupe": 1, "min-size": 1}
    assert len(pictures) == report.as_json()["exported"] == 8
    for p in pictures:
        with Image.open(p) as im:
            assert im.size == (512, 512) and im.mode == "RGB"
    assert (folder / "p1.txt").read_text() == "1girl, solo, tag_1, white_background"


def test_exif_rotation_and_alpha_flattened(library: Library, art: Path, tmp_path: Path) -> None:
    build(library, spec_for(art, tmp_path / "out", format="textual-inversion"))
    with Image.open(tmp_path / "out" / "rotated.png") as im:
        assert im.size == (600, 800)  # upright: the EXIF said to turn it
    with Image.open(tmp_path / "out" / "alpha.png") as im:
        assert im.mode == "RGB" and im.getpixel((5, 5)) == (255, 255, 255)
    # Untouched pictures are linked, not re-encoded.
    assert os.stat(tmp_path / "out" / "p1.png").st_ino == os.stat(art / "p1.png").st_ino


def test_rerun_does_nothing_and_a_changed_step_redoes_only_what_changed(
    library: Library, art: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = build(library, spec_for(art, out, KOHYA_STEPS))
    assert first.train.processed > 0
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = build(library, spec_for(art, out, KOHYA_STEPS))
    assert (again.train.processed, again.written) == (0, 0)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == mtimes
    # A caption edit: no pixels redone, only captions rewritten.
    captioned = build(library, spec_for(art, out, [*KOHYA_STEPS, {
        "use": "caption", "first": ["girlname"], "drop": ["white_background"]}]))
    assert captioned.train.processed == 0 and captioned.written > 0
    assert (out / "img/10_girl/p1.txt").read_text() == "girlname, 1girl, solo, tag_1"
    # A changed pad: only the run of pixel steps holding it (min-size, align, pad) is
    # redone, for the 9 pictures dedupe kept; mode-convert (11 pictures) comes from cache.
    padded = build(library, spec_for(art, out, [*KOHYA_STEPS[:-1], {"use": "pad", "size": 384}]))
    assert padded.train.processed == 9
    with Image.open(out / "img/10_girl/p1.png") as im:
        assert im.size == (384, 384)


def test_every_drop_has_step_and_reason_and_the_report_shows_them(
    library: Library, art: Path, tmp_path: Path
) -> None:
    steps = [{"use": "no-monochrome"}, {"use": "filter", "query": "-1boy"},
             {"use": "min-size", "size": 256}, {"use": "dedupe"}]
    report = build(library, spec_for(art, tmp_path / "out", steps))
    reasons = {d.item.name: (d.step, d.reason) for d in report.train.dropped}
    assert reasons["grey"][0] == "no-monochrome" and "saturation" in reasons["grey"][1]
    assert reasons["rotated"] == ("filter", "does not match '-1boy'")
    assert reasons["small"] == ("min-size", "shorter side 150 px < 256")
    assert reasons["copy_of_p0"][0] == "dedupe" and "p0.png" in reasons["copy_of_p0"][1]
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Dropped by no-monochrome" in page and "does not match" in page
    assert page.count("<img") == len(report.train.kept) + len(report.train.dropped)
    for src in {s.split('"')[0] for s in page.split('src="')[1:]}:
        assert (tmp_path / "out" / src).is_file()


def test_monochrome_by_tag(library: Library, art: Path, tmp_path: Path) -> None:
    (art / "p2.txt").write_text("1girl, monochrome")
    report = build(library, spec_for(art, tmp_path / "out", [{"use": "no-monochrome"}]))
    assert ("no-monochrome", "tagged monochrome") in {
        (d.step, d.reason) for d in report.train.dropped if d.item.name == "p2"}


def test_first_n_sample_rename_and_query_source(library: Library, art: Path,
                                                tmp_path: Path) -> None:
    library.scan([art])
    ds = library.dataset("solo -1boy")
    first = ds.attach("first-n", n=3).preview()
    assert len(first.train.kept) == 3
    a = ds.attach("sample", n=4, seed=7).preview().train.kept
    b = ds.attach("sample", n=4, seed=7).preview().train.kept
    c = ds.attach("sample", n=4, seed=8).preview().train.kept
    assert [i.source for i in a] == [i.source for i in b] != [i.source for i in c]
    report = ds.attach("rename", how="sequential", prefix="x").export(
        "files", str(tmp_path / "out"))
    names = sorted(p.name for p in (tmp_path / "out").glob("*_meta.json"))
    assert names[0] == "x0001_meta.json" and len(names) == len(report.train.kept)
    meta = json.loads((tmp_path / "out" / names[0]).read_text())
    assert "solo" in meta["tags"] and meta["source"].startswith(str(art))


def test_similar_query_source(library: Library, art: Path, tmp_path: Path) -> None:
    library.scan([art])
    p0 = library.image_at(art / "p0.png").id
    kept = library.dataset(f"similar:{p0}").preview().train.kept
    assert {i.name for i in kept} >= {"copy_of_p0"}


def test_other_exporters(library: Library, art: Path, tmp_path: Path) -> None:
    base = library.dataset(paths=[art]).attach("dedupe")
    base.export("hf-imagefolder", str(tmp_path / "hf"))
    rows = [json.loads(line) for line in (tmp_path / "hf/metadata.jsonl").read_text()
            .splitlines()]
    assert rows and all((tmp_path / "hf" / r["file_name"]).is_file() for r in rows)
    assert {"file_name", "tags", "caption", "rating"} <= set(rows[0])
    base.attach("align-max-size", size=256).export("kohya-finetune", str(tmp_path / "ft"))
    meta = json.loads((tmp_path / "ft/meta.json").read_text())
    entry = meta["p1"]
    assert entry["caption"] == entry["tags"] == "1girl, solo, tag_1, white_background"
    assert entry["train_resolution"] == [256, 192]
    sanitize(tomllib.loads((tmp_path / "ft/dataset.toml").read_text()))


def test_reg_subset(library: Library, art: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    for n in range(2):
        (other / f"r{n}.png").parent.mkdir(exist_ok=True)
        Image.new("RGB", (300, 300), (n * 90, 40, 200)).save(other / f"r{n}.png")
    spec = parse_spec({"source": {"paths": [str(art)]},
                       "reg": {"paths": [str(other)], "name": "woman", "repeats": 1},
                       "export": {"dir": str(tmp_path / "out"), "name": "girl"}})
    build(library, spec)
    config = sanitize(tomllib.loads((tmp_path / "out/dataset.toml").read_text()))
    reg = [s for s in config["datasets"][0]["subsets"] if s.get("is_reg")]
    assert len(reg) == 1 and reg[0]["class_tokens"] == "woman"
    assert sorted(p.name for p in Path(reg[0]["image_dir"]).glob("*.png")) == ["r0.png",
                                                                              "r1.png"]


def test_bad_specs_say_why(library: Library, art: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no step named 'blur'"):
        build(library, spec_for(art, tmp_path / "o", [{"use": "blur"}]))
    with pytest.raises(DatasetError, match="unknown parameter"):
        build(library, spec_for(art, tmp_path / "o", [{"use": "pad", "sise": 3}]))
    with pytest.raises(DatasetError, match="exactly one of"):
        parse_spec({"source": {}, "export": {"dir": "x"}})
    library.scan([art])
    with pytest.raises(DatasetError, match="overlaps the library folder"):
        build(library, spec_for(art, art / "out"))


def test_booru_source_through_the_pipeline(library: Library, tmp_path: Path) -> None:
    from tests.dataset.fakebooru import FakeBooru, sample_posts

    with FakeBooru("danbooru", sample_posts(3)) as booru:
        spec = parse_spec({
            "source": {"booru": {"site": "danbooru", "url": booru.url, "tags": "solo",
                                 "limit": 3, "rate": 0, "backoff": 0.01}},
            "step": [{"use": "caption", "drop_category": ["artist", "meta"]}],
            "export": {"format": "files", "dir": str(tmp_path / "out")}})
        report = build(library, spec)
    assert report.as_json()["exported"] == 3 and report.as_json()["errors"] == []
    meta = json.loads((tmp_path / "out" / "1_meta.json").read_text())
    assert meta["meta"]["id"] == 1 and meta["rating"] == "general"
    assert meta["tags"] == ["surtr_(arknights)", "arknights", "1girl", "solo", "thing_1"]


def test_encode_mode_writes_every_picture_in_the_format_asked(
    library: Library, art: Path, tmp_path: Path
) -> None:
    library.dataset(paths=[art]).attach("dedupe").export(
        "textual-inversion", str(tmp_path / "out"), mode="encode", image_format="jpg",
        quality=80)
    out = tmp_path / "out"
    assert sorted(p.suffix for p in out.iterdir() if p.is_file() and p.suffix != ".txt"
                  and not p.name.startswith(".") and p.name != "report.html") == [".jpg"] * 9
    with Image.open(out / "alpha.jpg") as im:
        assert im.format == "JPEG" and im.mode == "RGB"
    # Written anew: no exported file is a source file.
    sources = {os.stat(p).st_ino for p in art.iterdir()}
    assert not sources & {os.stat(p).st_ino for p in out.glob("*.jpg")}
