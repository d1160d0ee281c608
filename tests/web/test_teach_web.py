"""Teaching a tag over HTTP and in Chromium: a round with examples from searches, labels
with the Y/N keys, teach again, apply (one undoable action), and clear refusals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from illudex.catalog import embeddings  # the writer every embedder uses
from illudex.library import Library
from illudex.web import create_app
from illudex.web.background import BackgroundServer
from tests.web import browserkit
from tests.web.browserkit import Site, shot
from tests.web.conftest import scanned_sample

browser, page = browserkit.browser, browserkit.page
CONCEPT = ("art_00", "art_01", "art_02", "art_03")  # pictures of these are "cats"
YES_QUERY, NO_QUERY = "path:art_00 OR path:art_01", "path:art_06 OR path:art_07"


def is_cat(path: str) -> bool:
    return any(name in path for name in CONCEPT)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sample_pictures: Path) -> Iterator[Site]:
    """The sample library, with stored embeddings in which the "cats" lean one way."""
    sample = scanned_sample(tmp_path_factory.mktemp("teach"), sample_pictures)
    lib = Library.open(sample.dir)
    try:
        rng = np.random.default_rng(3)
        concept = rng.normal(size=12)
        rows = []
        for image_id, row in lib.images(lib.image_ids([sample.art])).items():
            v = rng.normal(size=12) * 0.5 + (concept if is_cat(row.path) else -concept)
            rows.append((image_id, (v / np.linalg.norm(v)).astype(np.float32)))
        with lib.conn:
            embeddings.store(lib.conn, "test-embedder", rows)
    finally:
        lib.close()
    with BackgroundServer(create_app(sample.dir)) as server:
        yield Site(server.url, sample)


def learned(site: Site) -> int:
    tags = {t["name"]: t["count"] for t in site.get("api/tags")["tags"]}
    return tags.get("cat", 0)


def test_api_round_apply_and_undo(site: Site) -> None:
    answer = site.post("api/teach", {"tag": "cat", "yes_query": YES_QUERY,
                                     "no_query": NO_QUERY})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["embedding"] == "test-embedder" and data["applied"] is None
    assert data["examples"]["yes"] >= 2 and data["examples"]["no"] >= 2
    assert data["suggestions"] and all(is_cat(s["path"]) for s in data["suggestions"])
    assert {"thumb", "score", "id", "path"} <= set(data["review"][0])
    applied = site.post("api/teach", {"tag": "cat", "yes": data["yes_ids"],
                                      "no": data["no_ids"], "apply": True, "min": 0.5}).json()
    action = applied["applied"]["action"]
    assert action and learned(site) == applied["applied"]["images"]
    assert site.post("api/undo", {"action": action}).json()["action"] == action
    assert learned(site) == 0


def test_api_refuses_clearly(site: Site) -> None:
    few = site.post("api/teach", {"tag": "cat", "yes_query": "path:art_00"})
    assert few.status_code == 400 and "too few examples" in few.json()["error"]
    other = site.post("api/teach", {"tag": "cat", "yes_query": YES_QUERY,
                                    "no_query": NO_QUERY, "embedding": "clip"})
    assert other.status_code == 400 and "no embeddings from model 'clip'" in other.json()["error"]


def test_teach_view_labels_with_keys_and_applies(page: Any, site: Site) -> None:
    page.goto(site.url + "#/teach")
    page.fill("#teach-tag", "cat")
    page.fill("#teach-yes-query", YES_QUERY)
    page.fill("#teach-no-query", NO_QUERY)
    page.click("#teach-run")
    page.wait_for_selector("#teach-review .tile")
    status = page.inner_text("#teach-status")
    assert re.search(r"cross-validated precision \d\.\d\d, recall \d\.\d\d", status), status
    before = int(re.search(r"(\d+) yes", status).group(1))  # type: ignore[union-attr]
    first = page.locator("#teach-review .tile").first
    first.focus()
    page.keyboard.press("y")
    assert first.get_attribute("data-label") == "yes"
    shot(page, "teach-round")
    page.click("#teach-again")
    page.wait_for_selector(f"#teach-status:has-text('· {before + 1} yes /')")
    page.fill("#teach-min", "0.5")
    page.click("#teach-apply")
    page.wait_for_selector(".toast:has-text('Tagged')")
    assert learned(site) > 0
    page.goto(site.url + "#/history")
    page.wait_for_selector("#history-actions")
    assert "learned cat" in page.inner_text("#history-actions")


def test_phone_reaches_teach_from_the_tags_page(browser: Any, site: Site) -> None:
    errors: list[str] = []
    phone = browserkit.new_page(browser, browserkit.PHONE, errors)
    try:
        phone.goto(site.url + "#/tags")
        phone.click("#tags-teach-link")
        phone.wait_for_selector("#teach-form")
        assert phone.evaluate("document.documentElement.scrollWidth") <= browserkit.PHONE["width"]
        shot(phone, "teach-phone")
    finally:
        phone.context.close()
    assert not errors, errors
