"""The dataset preview in Chromium draws what the model steps found (issue 15): the faces
that got a picture dropped, and for a crop the region of its parent it was cut from and
the face it was cut around. A real served library, the tiny deepghs-layout detector (a
red square is a face), real ONNX Runtime behind the preview endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from illudex.library import Library
from illudex.web import create_app
from illudex.web.background import BackgroundServer
from tests.dataset.test_modelsteps import RED_BOX, picture
from tests.fixtures.deepghs_models import build_detector
from tests.web import browserkit
from tests.web.browserkit import SHOTS, shot
from tests.web.test_browser_datasets import add_step

pytestmark = pytest.mark.browser
browser, page = browserkit.browser, browserkit.page


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A library of three pictures (one face, two faces, none) served; the model's path."""
    art = tmp_path / "art"
    picture(art / "one.png", (512, 320), red=RED_BOX)
    picture(art / "two.png", (400, 400), red=(25, 25, 50, 50), blue=(300, 300, 375, 375))
    picture(art / "none.png", (300, 300), fill=(200, 220, 240))
    lib = Library.open(tmp_path / "library")
    lib.workers = 1
    lib.scan([art])
    lib.close()
    model = build_detector(tmp_path / "models" / "det.onnx", size=128)
    with BackgroundServer(create_app(tmp_path / "library")) as server:
        yield server.url, model


def boxes(figure: Any) -> list[dict[str, Any]]:
    """Each drawn box of a figure: its kind, label and place in % of its picture."""
    return figure.evaluate("""f => [...f.querySelectorAll('.ds-box')].map(b => ({
        kind: b.dataset.kind, label: b.textContent, parent: !!b.closest('.ds-parent'),
        box: [b.style.left, b.style.top, b.style.width, b.style.height]
             .map(v => Math.round(parseFloat(v) * 10) / 10)}))""")


def test_preview_draws_the_faces_that_dropped_and_where_a_crop_came_from(
    page: Any, served: tuple[str, Path]
) -> None:
    url, model = served
    page.goto(url + "#/datasets")
    page.fill("#ds-query", "1girl")
    add_step(page, "face-count", model=str(model), min="1", max="1")
    add_step(page, "face-crop", model=str(model), scale="2")
    page.click("#ds-preview-run")
    page.wait_for_selector("#ds-preview-counts", timeout=60_000)

    dropped = page.locator(".ds-dropped .ds-pic")
    by_name = {dropped.nth(n).locator(".name").inner_text(): dropped.nth(n)
               for n in range(dropped.count())}
    assert sorted(by_name) == ["none", "two"]
    # two.png (400²): faces at (25, 25)-(50, 50) and (300, 300)-(375, 375), in % of it.
    drawn = sorted(b["box"] for b in boxes(by_name["two"]))
    assert drawn == [[6.3, 6.3, 6.3, 6.3], [75.0, 75.0, 18.8, 18.8]]
    assert all(b["kind"] == "face" and b["label"] == "face 1.00" for b in boxes(by_name["two"]))
    assert "2 face(s) found" in by_name["two"].inner_text()
    assert boxes(by_name["none"]) == []

    [crop] = page.locator("#ds-kept .ds-pic").all()
    assert crop.locator(".name").inner_text() == "one_face1"
    found = boxes(crop)
    # The crop is the 96² face grown x2 (192²) around its centre: the face is its middle half.
    assert [b for b in found if not b["parent"]] == [
        {"kind": "face", "label": "face 1.00", "parent": False, "box": [25.0, 25.0, 50.0, 50.0]}]
    # In its 512 x 320 parent: the crop (152, 52)-(344, 244) dashed, the face solid.
    in_parent = sorted((b["kind"], b["box"]) for b in found if b["parent"])
    assert in_parent == [("crop", [29.7, 16.3, 37.5, 60.0]),
                         ("face", [39.1, 31.3, 18.8, 30.0])]
    assert crop.locator(".ds-parent img").evaluate("i => i.complete && i.naturalWidth > 0")
    page.evaluate("document.querySelector('#ds-preview').scrollIntoView()")
    shot(page, "datasets-preview-boxes")
    page.locator("#ds-preview").screenshot(path=str(SHOTS / "datasets-preview-boxes-close.png"))
