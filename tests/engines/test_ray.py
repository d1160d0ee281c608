"""The Ray engine gives the local engine's results: the same catalog rows, features,
tags and embeddings, for the same pictures (WebP, a name that is not UTF-8 and a broken
file among them), through
the CLI's `--engine ray` on a local Ray instance. Few and small: Ray is slow to start."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from illudex.cli import app
from tests.fixtures.onnx_models import build_clip, build_tagger

pytestmark = pytest.mark.timeout(600)


def cli(*args: str | Path) -> dict:
    result = CliRunner().invoke(app, [*map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import draw_picture

    folder = tmp_path_factory.mktemp("art")
    for i in range(10):
        im = draw_picture((96 + 8 * i, 64), i)
        im.save(folder / f"p{i}.{('png', 'jpg', 'webp')[i % 3]}")
    Image.new("RGBA", (40, 30), (255, 0, 0, 128)).save(folder / os.fsdecode(b"alph\xe4.png"))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot a picture")
    return folder


def catalog_rows(library: Path) -> dict[str, list[tuple]]:
    """Everything the runs computed, keyed by path (ids may differ between libraries)."""
    conn = sqlite3.connect(library / "catalog.db")
    try:
        queries = {
            "images": "SELECT path, size, digest, width, height, format, mode, has_alpha, "
                      "animated, n_frames, params FROM images ORDER BY path",
            "features": "SELECT i.path, f.analyser, f.version, f.data FROM features f "
                        "JOIN images i ON i.id = f.image_id ORDER BY 1, 2",
            "tags": "SELECT i.path, t.name, it.source, it.score FROM image_tags it "
                    "JOIN images i ON i.id = it.image_id JOIN tags t ON t.id = it.tag_id "
                    "ORDER BY 1, 2, 3",
            "embeddings": "SELECT i.path, e.model, e.dim, e.vector FROM embeddings e "
                          "JOIN images i ON i.id = e.image_id ORDER BY 1, 2",
            "errors": "SELECT path, error FROM scan_errors ORDER BY path",
        }
        return {name: conn.execute(sql).fetchall() for name, sql in queries.items()}
    finally:
        conn.close()


def ray_plans() -> str:
    """The execution plans Ray Data logged in this session: what ran on Ray."""
    import ray

    logs = Path(ray._private.worker.global_worker.node.get_logs_dir_path()) / "ray-data"
    return "".join(p.read_text(errors="replace") for p in sorted(logs.glob("ray-data.log")))


def test_scan_tag_and_embed_on_ray_store_what_the_local_engine_stores(
        tmp_path: Path, pictures: Path, ray_local: None) -> None:
    tagger, clip = build_tagger(tmp_path / "tagger"), build_clip(tmp_path / "clip")
    runs = {}
    for engine in ("local", "ray"):
        library = tmp_path / engine
        scan = cli("scan", pictures, "--engine", engine, "--library", library)
        tag = cli("tag", pictures, "--model", tagger, "--engine", engine, "--library", library)
        embed = cli("embed", pictures, "--model", clip, "--engine", engine,
                    "--library", library)
        runs[engine] = (scan, tag["errors"], embed["errors"], catalog_rows(library))
        if engine == "local":
            assert "MapBatches(_Inference)" not in ray_plans()
    plans = ray_plans()
    assert "MapBatches(_read_stage)" in plans and "MapBatches(_Inference)" in plans
    local, ray = runs["local"], runs["ray"]
    assert local[0]["added"] == 11 and len(local[0]["errors"]) == 1  # broken.png
    assert local[3]["images"] and local[3]["features"] and local[3]["tags"]
    assert len(local[3]["embeddings"]) == 2 * 11  # the tagger's and CLIP's
    assert ray[0] == local[0]
    assert sorted(map(str, ray[1:3])) == sorted(map(str, local[1:3]))
    for table in local[3]:
        assert ray[3][table] == local[3][table], table

    again = cli("tag", pictures, "--model", tagger, "--engine", "ray", "--library",
                tmp_path / "ray")
    assert again["skipped"] == 11  # committed batches are not redone


def test_ray_reads_pictures_from_s3_and_analyses_them_as_the_scan_does(
        pictures: Path, s3_bucket: str, ray_local: None) -> None:
    import os

    import boto3

    from illudex.engines.rayengine import RayEngine
    from illudex.engines.storage import list_pictures
    from illudex.library import scan_analysers
    from illudex.scan.worker import WorkerConfig, process_file

    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    for path in sorted(pictures.iterdir()):
        if path.name.isprintable():  # S3 keys are UTF-8: the non-UTF-8 name stays local
            client.put_object(Bucket=s3_bucket, Key=f"art/{path.name}", Body=path.read_bytes())
    remote = list_pictures(f"s3://{s3_bucket}/art")
    assert len(remote) == 11
    config = WorkerConfig(analysers=scan_analysers())
    on_ray = {r.path.rpartition("/")[2]: r for r in RayEngine.connect().file_results(
        [(f.url, f.size, f.mtime_ns) for f in remote], config)}
    assert len(on_ray) == 11
    for path in sorted(p for p in pictures.iterdir() if p.name in on_ray):
        here = process_file((str(path), path.stat().st_size, 0), config)
        there = on_ray[path.name]
        assert (there.digest, there.size, there.width, there.format, there.error) == (
            here.digest, here.size, here.width, here.format, here.error), path.name
        assert there.features == here.features, path.name


def red_box_pictures(folder: Path) -> Path:
    """Pictures with red squares (faces to the tiny detector), one of them a JPEG."""
    from PIL import ImageDraw

    folder.mkdir()
    for i in range(6):
        image = Image.new("RGB", (300 + 40 * i, 260), (200, 220, 240 - 20 * i))
        ImageDraw.Draw(image).rectangle((20 + 10 * i, 30, 110 + 10 * i, 120), fill=(255, 0, 0))
        if i % 2:
            ImageDraw.Draw(image).rectangle((180, 140, 240, 200), fill=(255, 0, 0))
        image.save(folder / f"d{i}.{'jpg' if i == 3 else 'png'}")
        (folder / f"d{i}.txt").write_text("1girl, solo")
    return folder


def test_dataset_model_steps_on_ray_export_the_local_engines_files(
        tmp_path: Path, ray_local: None) -> None:
    from tests.fixtures.deepghs_models import build_detector

    art = red_box_pictures(tmp_path / "art")
    detector = build_detector(tmp_path / "det.onnx", size=128)
    exported = {}
    for engine in ("local", "ray"):
        spec = tmp_path / f"{engine}.toml"
        spec.write_text(f'[source]\npaths = ["{art}"]\n\n'
                        # Crops, then a detector run on the crops (cache files) too.
                        f'[[step]]\nuse = "three-stage-split"\nperson_model = "{detector}"\n'
                        f'halfbody_model = "{detector}"\nhead_model = "{detector}"\n'
                        f'head_scale = 0.5\n\n'
                        f'[export]\nformat = "files"\ndir = "{tmp_path / engine / "out"}"\n'
                        f'name = "x"\n')
        cli("dataset", "build", spec, "--engine", engine, "--library", tmp_path / engine)
        if engine == "local":
            assert "MapBatches(_StepInference)" not in ray_plans()
        out = tmp_path / engine / "out"
        exported[engine] = {p.relative_to(out): p.read_bytes()
                            for p in sorted(out.rglob("*")) if p.is_file()}
    assert "MapBatches(_StepInference)" in ray_plans()
    assert len([p for p in exported["local"] if p.suffix == ".png"]) >= 9  # person + head
    assert exported["ray"] == exported["local"]
