"""Steps on their own terms (caption edits, buckets, pad), custom steps through entry
points, the tagger step with the tiny WD-layout model, worker processes and resuming
after Ctrl-C, and the command line."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from illudex.cli import app
from illudex.dataset import registry
from illudex.dataset.cache import Cache
from illudex.dataset.items import Item
from illudex.dataset.pipeline import build
from illudex.dataset.pixelsteps import bucket_resolutions
from illudex.dataset.registry import make_step
from illudex.dataset.spec import parse_spec
from illudex.library import Library
from illudex.progress import Progress


def item(tags: list[str], categories: dict[str, str] | None = None) -> Item:
    return Item(source="/x/a.png", digest="d" * 32, key="k", file="/x/a.png", tags=tags,
                categories=categories or {})


def test_caption_edits() -> None:
    step = make_step("caption", {
        "drop": ["*_background"], "drop_pattern": ["^tag_\\d$"], "drop_category": ["artist"],
        "replace": {"1girl": "one_girl"}, "spaces": True, "escape_parens": True,
        "first": ["surtr"]})
    edited = step.edit(item(["saber_(fate)", "1girl", "white_background", "tag_3", "wlop",
                             "long_hair", "^_^"], {"wlop": "artist"}))
    assert edited == ["surtr", "saber \\(fate\\)", "one girl", "long hair", "^_^"]


def test_caption_shuffle_is_seeded_and_keeps_the_first_tokens() -> None:
    tags = [f"t{n}" for n in range(12)]
    a = make_step("caption", {"first": ["x"], "keep_tokens": 2, "shuffle": True, "seed": 1})
    b = make_step("caption", {"first": ["x"], "keep_tokens": 2, "shuffle": True, "seed": 2})
    one, again, other = a.edit(item(tags)), a.edit(item(tags)), b.edit(item(tags))
    assert one == again != other
    assert one[:3] == ["x", "t0", "t1"] and sorted(one[3:]) == sorted(tags[2:])


def test_buckets_follow_kohya_rules() -> None:
    buckets = bucket_resolutions(512, 256, 1024, 64)
    assert (512, 512) in buckets and (384, 640) in buckets and (640, 384) in buckets
    assert all(w % 64 == 0 and h % 64 == 0 and w * h <= 512 * 512 for w, h in buckets)
    step = make_step("bucket", {"resolution": 512})
    out = step(Image.new("RGB", (1200, 800), "red"))
    assert out.size == (640, 384)  # 1.67 is nearer 3:2 than 576x448 (1.29)
    assert make_step("bucket", {"no_upscale": True})(Image.new("RGB", (300, 200))).size \
        == (256, 192)


def test_pad_to_square_and_to_an_aspect() -> None:
    out = make_step("pad", {"size": 64, "colour": "black"})(Image.new("RGB", (200, 100), "red"))
    assert out.size == (64, 64) and out.getpixel((0, 0)) == (0, 0, 0)
    assert out.getpixel((32, 32)) == (255, 0, 0)
    wide = make_step("pad", {"size": 0, "aspect": "2:1"})(Image.new("RGB", (100, 100)))
    assert wide.size == (200, 100)


@pytest.fixture
def custom_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A package registering `invert` through the entry point group, as a plugin would."""
    package = tmp_path / "plugin"
    (package / "invert_step-1.0.dist-info").mkdir(parents=True)
    (package / "invert_step-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: invert-step\nVersion: 1.0\n")
    (package / "invert_step-1.0.dist-info" / "entry_points.txt").write_text(
        "[illudex.dataset_steps]\ninvert = invert_step:invert\n")
    (package / "invert_step.py").write_text(
        "from PIL import ImageOps\n\n"
        "def invert(image, threshold=0):\n"
        "    '''Negative of the picture; pictures narrower than threshold are dropped.'''\n"
        "    if image.width < threshold:\n        return None\n"
        "    return ImageOps.invert(image.convert('RGB'))\n")
    monkeypatch.syspath_prepend(str(package))
    registry.registry.cache_clear()
    yield
    registry.registry.cache_clear()


def test_custom_step_from_an_entry_point(custom_step: None, library: Library,
                                         tmp_path: Path) -> None:
    art = tmp_path / "art"
    art.mkdir()
    Image.new("RGB", (64, 64), (255, 0, 0)).save(art / "red.png")
    Image.new("RGB", (32, 64), (0, 255, 0)).save(art / "thin.png")
    assert "invert" in {s["name"] for s in registry.describe_steps()}
    report = library.dataset(paths=[art]).attach("invert", threshold=40).export(
        "textual-inversion", str(tmp_path / "out"))
    with Image.open(tmp_path / "out" / "red.png") as im:
        assert im.getpixel((0, 0)) == (0, 255, 255)
    assert [(d.item.name, d.step) for d in report.train.dropped] == [("thin", "invert")]


def coloured(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64), (230, 20, 20)).save(folder / "red.png")
    Image.new("RGB", (64, 64), (20, 230, 20)).save(folder / "green.png")
    (folder / "green.txt").write_text("my_own_tag")
    return folder


def test_tag_step_with_a_wd_layout_model(tagger_dir: Path, library: Library,
                                         tmp_path: Path) -> None:
    art = coloured(tmp_path / "art")
    ds = library.dataset(paths=[art])
    ds.attach("tag", model=str(tagger_dir)).export("textual-inversion", str(tmp_path / "a"))
    assert "red_theme" in (tmp_path / "a/red.txt").read_text().split(", ")
    assert (tmp_path / "a/green.txt").read_text() == "my_own_tag"  # tagged already: kept
    forced = ds.attach("tag", model=str(tagger_dir), force=True)
    forced.export("textual-inversion", str(tmp_path / "b"))
    green = (tmp_path / "b/green.txt").read_text().split(", ")
    assert green[0] == "saber_(fate)" and "my_own_tag" not in green  # characters first
    records = list((library.dir / "dataset-cache" / "records").rglob("tags-*.json"))
    assert len(records) == 2  # red (once: the second run found it cached) and green


def test_workers_and_ctrl_c_resume(library: Library, tmp_path: Path) -> None:
    art = tmp_path / "art"
    art.mkdir()
    for n in range(120):
        Image.new("RGB", (300 + n, 200), (n * 2, 100, 50)).save(art / f"p{n:03}.png")
    spec = parse_spec({"source": {"paths": [str(art)]},
                       "step": [{"use": "pad", "size": 128}],
                       "export": {"format": "textual-inversion", "dir": str(tmp_path / "out")}})

    def stop_midway(progress: Progress) -> None:
        if progress.stage == "pictures" and progress.done >= 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(library, spec, progress=stop_midway, workers=2)
    finished = len(list(Cache.in_library(library.dir).root.rglob("records/*/*.json")))
    assert 10 <= finished < 120  # what finished is kept; the rest was cancelled
    report = build(library, spec, workers=2)
    assert report.train.processed == 120 - finished
    assert len(list((tmp_path / "out").glob("*.png"))) == 120


def invoke(*args: object) -> dict | list:
    result = CliRunner().invoke(app, [*map(str, args)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_command_line(tmp_path: Path) -> None:
    art = coloured(tmp_path / "art")
    spec = tmp_path / "spec.toml"
    spec.write_text(f'[source]\npaths = ["{art}"]\n[[step]]\nuse = "min-size"\nsize = 100\n'
                    f'[export]\nformat = "kohya"\ndir = "{tmp_path / "out"}"\nname = "c"\n')
    lib = tmp_path / "lib"
    dry = invoke("dataset", "build", spec, "--dry-run", "--json", "--library", lib)
    assert dry["exported"] == 2 and dry["pending"] == 2 and not (tmp_path / "out").exists()
    data = invoke("dataset", "build", spec, "--json", "--library", lib)
    assert set(data) >= {"exported", "dropped", "out", "errors"}
    assert (data["exported"], data["dropped"], data["errors"]) == (0, {"min-size": 2}, [])
    assert data["out"] == str(tmp_path / "out")
    assert tomllib.loads((tmp_path / "out/dataset.toml").read_text())["datasets"]
    steps = invoke("dataset", "steps", "--json")
    pad = next(s for s in steps if s["name"] == "pad")
    assert {p["name"]: p["default"] for p in pad["params"]}["size"] == 512
    bad = CliRunner().invoke(app, ["dataset", "build", str(art / "red.png"), "--library", lib])
    assert bad.exit_code == 1 and "not valid TOML" in " ".join(bad.output.split())


def test_ctrl_c_on_the_command_line_keeps_finished_pictures(custom_step: None,
                                                            tmp_path: Path) -> None:
    """SIGINT to the whole process group, as a terminal sends it: the command says how
    to go on, finished pictures stay cached, and the next run does only the rest."""
    import os
    import signal
    import subprocess
    import sys
    import time

    plugin = next(p for p in sys.path if p.endswith("plugin"))
    (Path(plugin) / "invert_step.py").write_text(
        "import time\n\ndef invert(image, threshold=0):\n    time.sleep(0.1)\n"
        "    return image.convert('L')\n")
    art = tmp_path / "art"
    art.mkdir()
    for n in range(60):
        Image.new("RGB", (64, 64), (n * 4, 0, 0)).save(art / f"p{n:02}.png")
    spec = tmp_path / "spec.toml"
    spec.write_text(f'[source]\npaths = ["{art}"]\n[[step]]\nuse = "invert"\n'
                    f'[export]\nformat = "textual-inversion"\ndir = "{tmp_path / "out"}"\n')
    lib = tmp_path / "lib"
    command = [sys.executable, "-c", "from illudex.cli import main; main()", "dataset",
               "build", str(spec), "--json", "--library", str(lib)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([plugin, *sys.path])}
    records = lib / "dataset-cache" / "records"
    proc = subprocess.Popen(command, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(list(records.rglob("*.json"))) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again" in " ".join(err.split())
    finished = len(list(records.rglob("*.json")))
    assert 5 <= finished < 60
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert (data["processed"], data["exported"]) == (60 - finished, 60)


def test_resizes_fold_into_one_and_a_big_jpeg_decodes_at_reduced_scale(
    library: Library, tmp_path: Path
) -> None:
    art = tmp_path / "art"
    art.mkdir()
    big = Image.new("RGB", (1600, 1200), (250, 20, 20))
    big.paste((20, 20, 250), (0, 0, 800, 1200))  # left half blue
    big.save(art / "big.jpg", quality=95)
    library.dataset(paths=[art]).attach("align-min-size", size=300).attach(
        "pad", size=256, colour="black").export("textual-inversion", str(tmp_path / "out"))
    with Image.open(tmp_path / "out" / "big.png") as im:
        assert im.size == (256, 256)
        assert im.getpixel((128, 10)) == (0, 0, 0)  # padding above the 256x192 picture
        r, _, b = im.getpixel((60, 128))
        assert b > 200 and r < 50  # left half still blue, right half red
        r, _, b = im.getpixel((196, 128))
        assert r > 200 and b < 50
