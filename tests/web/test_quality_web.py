"""The picture page shows a stored aesthetic score and its label: the image JSON carries
it (None when unscored), and the page's facts list it. Real app, real catalog rows written
by the same call the quality run uses, real Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from illudex.analysers.qualityrun import quality_recipe, result
from illudex.catalog import modelresults
from illudex.library import Library
from tests.web import browserkit
from tests.web.browserkit import Site, shot
from tests.web.conftest import SampleLibrary

browser, page, site = browserkit.browser, browserkit.page, browserkit.site


def score_first(library: Path, quality: float, label: str) -> tuple[int, int]:
    """Score the first picture; return its id and an unscored one's."""
    with Library.open(library) as lib:
        first, second = sorted(lib.images(lib.image_ids([library.parent / "art"])).values(),
                               key=lambda r: r.id)[:2]
        assert first.digest != second.digest
        record = {"quality": quality, "raw": quality * 6, "label": label}
        modelresults.store(lib.conn, modelresults.QUALITY_KIND, quality_recipe("tiny"),
                           "tiny", [result(first.digest, record)])
        return first.id, second.id


def test_image_json_carries_the_quality(client: TestClient, sample: SampleLibrary) -> None:
    scored, unscored = score_first(sample.dir, 0.8125, "best")
    assert client.get(f"/api/images/{scored}").json()["quality"] == {
        "score": 0.8125, "label": "best"}
    assert client.get(f"/api/images/{unscored}").json()["quality"] is None


@pytest.mark.browser
def test_picture_page_shows_the_quality(page: Any, site: Site) -> None:
    scored, unscored = score_first(site.sample.dir, 0.8125, "best")
    page.goto(f"{site.url}#/image/{scored}")
    page.wait_for_selector(".facts dt:text-is('Quality')")
    assert page.locator(".facts dt:text-is('Quality') + dd").inner_text() == "0.81 · best"
    shot(page, "picture-quality")
    page.goto(f"{site.url}#/image/{unscored}")
    page.wait_for_selector(f".facts dt:text-is('Catalog id') + dd:text-is('{unscored}')")
    assert page.locator(".facts dt:text-is('Quality')").count() == 0
