"""Model-backed steps through the real pipeline (real library, real ONNX Runtime sessions
on tiny models with the deepghs layouts, real exports): counts, crops with real
coordinates and provenance, the three-stage split, class filters, CCIP and upscaling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from illudex.dataset.pipeline import build
from illudex.dataset.spec import parse_spec
from illudex.library import Library
from tests.fixtures.deepghs_models import (
    ANIME_CLASSES,
    build_ccip,
    build_classifier,
    build_detector,
    build_upscaler,
)

RED_BOX = (200, 100, 296, 196)


def picture(path: Path, size: tuple[int, int], fill: Any = "white",
            red: tuple[int, int, int, int] | None = None,
            blue: tuple[int, int, int, int] | None = None, tags: str = "1girl, solo") -> None:
    image = Image.new("RGB", size, fill)
    draw = ImageDraw.Draw(image)
    for box, colour in ((red, (255, 0, 0)), (blue, (0, 0, 255))):
        if box:
            draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    path.with_suffix(".txt").write_text(tags)


@pytest.fixture
def faces(tmp_path: Path) -> Path:
    folder = tmp_path / "faces"
    picture(folder / "one.png", (512, 320), red=RED_BOX, tags="1girl, solo, smile")
    # 400 → 128 is x 0.32: these boxes land on whole pixels of the model's input.
    picture(folder / "two.png", (400, 400), red=(25, 25, 50, 50), blue=(300, 300, 375, 375))
    picture(folder / "none.png", (300, 300), fill=(200, 220, 240))
    return folder


@pytest.fixture
def detector(tmp_path: Path) -> str:
    return str(build_detector(tmp_path / "models" / "det.onnx", size=128))


def run(library: Library, source: Path, out: Path, steps: list[dict[str, Any]]
        ) -> dict[str, Any]:
    spec = parse_spec({"source": {"paths": [str(source)]}, "step": steps,
                       "export": {"format": "files", "dir": str(out), "name": "x"}})
    report = build(library, spec)
    data = report.as_json()
    data["reasons"] = {d.item.name: d.reason for d in report.train.dropped}
    data["items"] = report.train.kept
    return data


def sidecars(out: Path) -> dict[str, dict[str, Any]]:
    return {p.name.removesuffix("_meta.json"): json.loads(p.read_text())
            for p in sorted(out.glob("*_meta.json"))}


def test_face_count_keeps_pictures_by_the_number_of_faces(
    library: Library, faces: Path, detector: str, tmp_path: Path
) -> None:
    result = run(library, faces, tmp_path / "out", [
        {"use": "face-count", "model": detector, "min": 1, "max": 1}])
    assert [i.name for i in result["items"]] == ["one"]
    assert result["reasons"] == {"none": "0 face(s) found, wanted 1..1",
                                 "two": "2 face(s) found, wanted 1..1"}
    meta = sidecars(tmp_path / "out")["one"]["meta"]
    assert meta["detections"]["face"] == [[200, 100, 296, 196, "face", 1.0]]


def test_face_crop_has_real_coordinates_parent_tags_and_provenance(
    library: Library, faces: Path, detector: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run(library, faces, out, [{"use": "face-crop", "model": detector}])
    assert result["reasons"] == {"none": "no face found"}
    metas = sidecars(out)
    assert sorted(metas) == ["one_face1", "two_face1", "two_face2"]
    crop = metas["one_face1"]
    with Image.open(out / "one_face1.png") as im:
        assert im.size == (96, 96)
        assert np.all(np.asarray(im.convert("RGB")) == (255, 0, 0))  # exactly the square
    parent = library.image_at(str(faces / "one.png"))
    assert sorted(crop["tags"]) == ["1girl", "smile", "solo"]  # the parent's, as they were
    provenance = crop["meta"]["crop"]
    assert provenance["parent"] == parent.digest and provenance["box"] == list(RED_BOX)
    assert provenance["parent_source"] == str(faces / "one.png")
    assert crop["digest"] != parent.digest  # a crop is a picture of its own


def test_scale_and_square_grow_the_box_inside_the_picture(
    library: Library, faces: Path, detector: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run(library, faces / "one.png", out, [
        {"use": "face-crop", "model": detector, "scale": 4.0, "square": True}])
    # 96 x 4 = 384 square around (248, 148), clipped to the 512 x 320 picture.
    assert sidecars(out)["one_face1"]["meta"]["crop"]["box"] == [56, 0, 440, 320]
    with Image.open(out / "one_face1.png") as im:
        assert im.size == (384, 320)


def test_a_square_crop_is_square_and_moved_inside_the_picture() -> None:
    from illudex.analysers.detect import Box
    from illudex.dataset.cropsteps import crop_region

    # Centre (79.65, 50), 75 px: x 42..117, y 12..87 (not 12..88 by rounding each end).
    assert crop_region(Box(56.2, 25, 103.1, 75, "head", 1.0), 1.5, True, 400, 300) == \
        (42, 12, 117, 87)
    # Near the corner: moved in, still 60 x 60.
    assert crop_region(Box(0, 0, 20, 20, "face", 1.0), 3.0, True, 100, 100) == (0, 0, 60, 60)


def test_three_stage_split_links_each_crop_to_its_parent(
    library: Library, faces: Path, detector: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run(library, faces / "one.png", out, [{
        "use": "three-stage-split", "person_model": detector, "halfbody_model": detector,
        "head_model": detector, "head_scale": 0.5}])
    names = [i.name for i in result["items"]]
    assert names == ["one_person1", "one_person1_halfbody1", "one_person1_head1"]
    person, half, head = result["items"]
    assert person.meta["crop"]["parent"] == library.image_at(str(faces / "one.png")).digest
    assert person.meta["crop"]["box"] == list(RED_BOX)
    # As waifuc: the upper body and the head are both found within the person crop.
    assert half.meta["crop"]["parent"] == head.meta["crop"]["parent"] == person.digest
    assert half.meta["crop"]["box"] == [0, 0, 96, 96]
    assert head.meta["crop"]["box"] == [24, 24, 72, 72] and (head.width, head.height) == (48, 48)


def test_face_ratio_and_head_cover_use_the_area_share(
    library: Library, faces: Path, detector: str, tmp_path: Path
) -> None:
    result = run(library, faces, tmp_path / "out", [
        {"use": "face-ratio", "model": detector, "min_share": 0.05},
        {"use": "head-cover", "model": detector, "max_share": 0.02}])
    # one: 96² / (512 x 320) = 0.056 ≥ 0.05; two: 75² / 400² = 0.035 < 0.05.
    assert result["reasons"]["two"] == "face area share 0.035 outside 0.05..1.0"
    assert result["reasons"]["none"].startswith("face area share 0.000")
    assert result["reasons"]["one"] == "head area share 0.056 outside 0.0..0.02"


def test_class_filter_drops_comics_and_a_model_finds_monochrome(
    library: Library, tmp_path: Path
) -> None:
    art = tmp_path / "art"
    picture(art / "colour.png", (64, 64), fill=(255, 0, 0))
    picture(art / "grey.png", (64, 64), fill=(128, 128, 128))
    model = build_classifier(tmp_path / "cls", ANIME_CLASSES)
    result = run(library, art, tmp_path / "out", [{"use": "class-filter", "model": str(model)}])
    assert [i.name for i in result["items"]] == ["colour"]
    assert result["reasons"]["grey"].startswith("class comic 0.9")
    assert result["items"][0].meta["class"]["illustration"] > 0.99
    kept = run(library, art, tmp_path / "out2", [
        {"use": "class-filter", "model": str(model), "drop": [], "keep": ["comic"]}])
    assert [i.name for i in kept["items"]] == ["grey"]
    from illudex.dataset.errors import DatasetError

    with pytest.raises(DatasetError, match="has no label real; its labels: 3d, bangumi"):
        run(library, art, tmp_path / "out3", [
            {"use": "class-filter", "model": str(model), "drop": "real"}])


def test_ccip_keeps_the_main_character_and_says_why_others_go(
    library: Library, tmp_path: Path
) -> None:
    art = tmp_path / "art"
    for n, red in enumerate((250, 230, 210, 240)):
        picture(art / f"red{n}.png", (48, 48), fill=(red, 20 + n, 10))
    picture(art / "blue.png", (48, 48), fill=(10, 20, 240))
    model = str(build_ccip(tmp_path / "ccip"))
    result = run(library, art, tmp_path / "out", [{"use": "ccip", "model": model}])
    assert sorted(i.name for i in result["items"]) == ["red0", "red1", "red2", "red3"]
    assert result["reasons"]["blue"] == ("another character: difference 0.716 to the main "
                                         "one (same at <= 0.150; matches 0% of its pictures)")
    assert "main character: 4 of the first 5 pictures" in result["items"][0].meta["ccip"]["note"]
    by_reference = run(library, art, tmp_path / "out2", [
        {"use": "ccip", "model": model, "references": [str(art / "blue.png")]}])
    assert [i.name for i in by_reference["items"]] == ["blue"]


def test_ccip_with_too_few_pictures_says_so_and_keeps_them(
    library: Library, tmp_path: Path
) -> None:
    art = tmp_path / "art"
    picture(art / "red.png", (48, 48), fill=(250, 0, 0))
    picture(art / "blue.png", (48, 48), fill=(0, 0, 250))
    result = run(library, art, tmp_path / "out", [
        {"use": "ccip", "model": str(build_ccip(tmp_path / "ccip"))}])
    assert len(result["items"]) == 2 and not result["reasons"]
    assert "no two of the first 2 pictures show one character" in \
        result["items"][0].meta["ccip"]["note"]


def test_upscale_only_small_pictures_to_the_target(library: Library, tmp_path: Path) -> None:
    art = tmp_path / "art"
    small = Image.fromarray(np.random.default_rng(0).integers(0, 255, (80, 100, 3), np.uint8))
    art.mkdir()
    small.save(art / "small.png")
    picture(art / "big.png", (300, 200), fill=(0, 128, 0))
    model = str(build_upscaler(tmp_path / "x2.onnx"))
    out = tmp_path / "out"
    result = run(library, art, out, [
        {"use": "upscale", "model": model, "min_size": 150, "tile": 32, "overlap": 8}])
    items = {i.name: i for i in result["items"]}
    assert (items["small"].width, items["small"].height) == (188, 150)
    assert items["small"].meta["upscaled"]["from"] == [100, 80]
    assert "upscaled" not in items["big"].meta
    with Image.open(out / "small.png") as im:
        assert im.size == (188, 150)
    assert (art / "small.png").stat().st_size > 0  # the source stays as it was
    with Image.open(art / "small.png") as im:
        assert im.size == (100, 80)


def test_a_rerun_runs_no_model(library: Library, faces: Path, tmp_path: Path) -> None:
    model = build_detector(tmp_path / "models" / "det.onnx", size=128)
    steps = [{"use": "face-crop", "model": str(model)}]
    first = run(library, faces, tmp_path / "out", steps)
    model.write_bytes(b"not a model any more")  # loading it now would fail
    again = run(library, faces, tmp_path / "out", steps)
    assert [i.name for i in again["items"]] == [i.name for i in first["items"]]


def test_a_missing_model_is_one_clear_message(library: Library, faces: Path,
                                              tmp_path: Path) -> None:
    from illudex.dataset.errors import DatasetError

    with pytest.raises(DatasetError) as e:
        run(library, faces, tmp_path / "out", [{"use": "face-count"}])  # the default model
    message = str(e.value)
    assert message.startswith("step face-count: model 'face_detect_v1.4_s'")
    assert "illudex models download face_detect_v1.4_s" in message
    with pytest.raises(DatasetError, match="resize is letterbox or stretch"):
        run(library, faces, tmp_path / "out", [{"use": "face-crop", "resize": "fit"}])


def test_decode_workers_give_the_same_boxes_as_one_process(
    library: Library, tmp_path: Path, detector: str
) -> None:
    art = tmp_path / "many"
    for n in range(6):  # 400 → 128 is x 0.32: multiples of 25 land on whole pixels
        x = 25 + 50 * n
        picture(art / f"p{n}.png", (400, 300), red=(x, 25, x + 50, 75))
    one = run(library, art, tmp_path / "one", [{"use": "face-crop", "model": detector}])
    library.workers = 3  # two decode processes beside the model
    many = run(library, art, tmp_path / "many-out", [
        {"use": "face-crop", "model": detector, "conf": 0.2}])  # not from the cache
    boxes = [i.meta["crop"]["box"] for i in one["items"]]
    assert boxes == [i.meta["crop"]["box"] for i in many["items"]]
    assert boxes == [[25 + 50 * n, 25, 75 + 50 * n, 75] for n in range(6)]


def test_a_rotated_jpeg_decoded_small_maps_boxes_to_its_upright_pixels(
    library: Library, tmp_path: Path, detector: str
) -> None:
    upright = Image.new("RGB", (1000, 1600), "white")
    ImageDraw.Draw(upright).rectangle((300, 900, 499, 1099), fill=(255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # the viewer turns it a quarter clockwise
    art = tmp_path / "jpeg"
    art.mkdir()
    upright.transpose(Image.Transpose.ROTATE_90).save(art / "r.jpg", quality=95,
                                                      exif=exif.tobytes())
    # 1600 px → 128: the JPEG is decoded at 1/8 scale, one input pixel is 12.5 px here.
    (crop,) = run(library, art, tmp_path / "out", [
        {"use": "face-crop", "model": detector}])["items"]
    assert crop.meta["crop"]["box"] == pytest.approx([300, 900, 500, 1100], abs=13)
