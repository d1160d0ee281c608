"""The web UI in a real headless Chromium against a real server on a real library.

Screenshots of every page go to test-output/screenshots/ (for people to look at).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from illudex.library import Library
from illudex.web import create_app
from illudex.web.background import BackgroundServer
from tests.web import browserkit
from tests.web.browserkit import TIMEOUT_MS, shot
from tests.web.conftest import CHANGE, SampleLibrary, scanned_sample

pytestmark = pytest.mark.browser

browser = browserkit.browser  # one Chromium per module, launched as in every browser module


@pytest.fixture
def served(tmp_path: Path, sample_pictures: Path) -> Iterator[tuple[str, SampleLibrary]]:
    sample = scanned_sample(tmp_path, sample_pictures)
    with BackgroundServer(create_app(sample.dir)) as server:
        yield server.url, sample


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1366, "height": 860})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    assert not [e for e in errors if "Failed to load resource" not in e], errors


def wait_for_thumbnails(page: object, at_least: int) -> None:
    page.wait_for_function(  # type: ignore[attr-defined]
        """n => [...document.querySelectorAll('#gallery-grid .tile img')]
                 .filter(i => i.complete && i.naturalWidth > 0).length >= n""",
        arg=at_least)


def test_gallery_search_and_picture_page(page: object, served: tuple[str, SampleLibrary]) -> None:
    url, sample = served
    with Library.open(sample.dir) as lib:
        total = len(lib.image_ids([sample.art]))
    page.goto(url)  # type: ignore[attr-defined]
    wait_for_thumbnails(page, min(total, 12))
    assert page.locator("#gallery-grid .tile").count() == total  # type: ignore[attr-defined]
    assert page.inner_text("#gallery-count") == f"{total} pictures"  # type: ignore[attr-defined]
    shot(page, "gallery")

    # Selection: click the check mark, shift-click a range, select all.
    tiles = page.locator("#gallery-grid .tile")  # type: ignore[attr-defined]
    tiles.nth(0).hover()
    tiles.nth(0).locator(".check").click()
    tiles.nth(3).click(modifiers=["Shift"])
    assert page.locator("#gallery-grid .tile.selected").count() == 4  # type: ignore[attr-defined]
    assert "4 selected" in page.inner_text("#selection-bar")  # type: ignore[attr-defined]
    shot(page, "gallery-selection")
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    assert page.locator("#gallery-grid .tile.selected").count() == 0  # type: ignore[attr-defined]

    # Search with autocomplete: type a prefix, take the suggestion, run the search.
    top = httpx.get(url + "api/tags").json()["tags"][0]
    search = page.locator("#search-input")  # type: ignore[attr-defined]
    search.click()
    search.type(top["name"][:4], delay=30)
    suggestion = page.locator(".search .ac-list li").first  # type: ignore[attr-defined]
    suggestion.wait_for()
    shot(page, "search-autocomplete")
    assert top["name"] in page.inner_text(".search .ac-list")  # type: ignore[attr-defined]
    page.locator(".search .ac-list li", has_text=top["name"]).first.click()  # type: ignore[attr-defined]
    assert search.input_value().strip() == top["name"]
    search.press("Enter")
    page.wait_for_function(  # type: ignore[attr-defined]
        "n => document.querySelectorAll('#gallery-grid .tile').length === n", arg=top["count"])
    assert page.inner_text("#gallery-count") == f"{top['count']} pictures"  # type: ignore[attr-defined]
    wait_for_thumbnails(page, top["count"])
    shot(page, "search-results")

    # The picture page: picture, tags, facts; add a tag and remove it again.
    page.locator("#gallery-grid .tile").first.click()  # type: ignore[attr-defined]
    page.wait_for_selector("#picture-img")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelector('#picture-img').naturalWidth > 0")
    assert page.locator(f"#picture-tags [data-tag='{top['name']}']").count() == 1  # type: ignore[attr-defined]
    image_id = int(re.search(r"#/image/(\d+)", page.url).group(1))  # type: ignore[attr-defined]
    box = page.locator("#add-tag-input")  # type: ignore[attr-defined]
    box.fill("added_in_browser")
    box.press("Enter")
    page.locator("#picture-tags [data-tag='added_in_browser']").wait_for()  # type: ignore[attr-defined]
    tags = httpx.get(f"{url}api/images/{image_id}").json()["tags"]
    assert {"name": "added_in_browser", "category": "general", "source": "user",
            "score": None} in tags
    page.wait_for_selector("text=Duplicates & alternates")  # type: ignore[attr-defined]
    shot(page, "picture")
    page.locator("#picture-tags [data-tag='added_in_browser'] button").click()  # type: ignore[attr-defined]
    page.locator("#picture-tags [data-tag='added_in_browser']").wait_for(state="detached")  # type: ignore[attr-defined]
    tags = httpx.get(f"{url}api/images/{image_id}").json()["tags"]
    assert "added_in_browser" not in {t["name"] for t in tags}


def test_duplicate_review_by_keyboard_with_undo(
    page: object, served: tuple[str, SampleLibrary]
) -> None:
    url, sample = served
    page.goto(url + "#/dupes")  # type: ignore[attr-defined]
    page.wait_for_selector("#compare .pane[data-side='right']")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => [...document.querySelectorAll('#compare img')].every(i => i.naturalWidth > 0)")
    assert "Suggested keeper" in page.inner_text("#compare")  # type: ignore[attr-defined]
    shot(page, "dupes")
    title = page.inner_text("#group-title")  # type: ignore[attr-defined]
    left_id = int(page.get_attribute("#compare .pane[data-side='left']", "data-id"))  # type: ignore[attr-defined]
    right_id = int(page.get_attribute("#compare .pane[data-side='right']", "data-id"))  # type: ignore[attr-defined]
    right_path = Path(httpx.get(f"{url}api/images/{right_id}").json()["path"])
    left_path = Path(httpx.get(f"{url}api/images/{left_id}").json()["path"])

    # Flicker and difference views draw.
    page.keyboard.press("f")  # type: ignore[attr-defined]
    page.wait_for_selector("#compare.single")  # type: ignore[attr-defined]
    page.keyboard.press("d")  # type: ignore[attr-defined]
    page.wait_for_selector("#diff-view canvas")  # type: ignore[attr-defined]
    shot(page, "dupes-difference")
    page.keyboard.press("d")  # type: ignore[attr-defined]
    page.wait_for_selector("#compare .pane[data-side='right']")  # type: ignore[attr-defined]

    # Keep left: the right one goes to the trash; the review moves on.
    page.keyboard.press("ArrowLeft")  # type: ignore[attr-defined]
    page.wait_for_selector(".toast >> text=moved to the trash")  # type: ignore[attr-defined]
    assert not right_path.exists() and left_path.exists()
    assert any((sample.dir / "trash").rglob(right_path.name))
    shot(page, "dupes-after-keep")

    # Undo with the keyboard: the file is back, the same pair is shown again.
    page.keyboard.press("z")  # type: ignore[attr-defined]
    page.wait_for_selector(".toast >> text=Put back")  # type: ignore[attr-defined]
    assert right_path.exists()
    assert page.inner_text("#group-title") == title  # type: ignore[attr-defined]
    assert int(page.get_attribute("#compare .pane[data-side='right']", "data-id")) == right_id  # type: ignore[attr-defined]

    # Alternates: a decision is recorded and the pair leaves the duplicate groups.
    page.keyboard.press("a")  # type: ignore[attr-defined]
    page.wait_for_selector(".toast >> text=Marked as alternates")  # type: ignore[attr-defined]
    report = httpx.get(url + "api/dupes", params={"refresh": 1}).json()
    assert not any({left_id, right_id} <= {f["id"] for f in g["files"]}
                   for g in report["groups"])


def test_apply_all_suggestions_shows_a_summary(
    page: object, served: tuple[str, SampleLibrary]
) -> None:
    url, _ = served
    plan = httpx.get(url + "api/dupes/plan").json()
    page.goto(url + "#/dupes")  # type: ignore[attr-defined]
    page.click("#apply-all")  # type: ignore[attr-defined]
    page.wait_for_selector("#apply-summary")  # type: ignore[attr-defined]
    assert f"Move {plan['files']} files" in page.inner_text("#apply-summary")  # type: ignore[attr-defined]
    shot(page, "dupes-apply-all")
    page.click(".modal button.primary")  # type: ignore[attr-defined]
    page.wait_for_selector(f".toast >> text=Moved {plan['files']} files")  # type: ignore[attr-defined]
    assert not any(Path(m["from"]).exists() for m in plan["moves"])
    page.click(".toast button")  # type: ignore[attr-defined]  # Undo
    page.wait_for_selector(".toast >> text=Put back")  # type: ignore[attr-defined]
    assert all(Path(m["from"]).exists() for m in plan["moves"])


def test_tags_jobs_and_phone_layout(
    page: object, browser: object, served: tuple[str, SampleLibrary]
) -> None:
    url, sample = served
    page.goto(url + "#/tags")  # type: ignore[attr-defined]
    page.wait_for_selector("#tag-table")  # type: ignore[attr-defined]
    shot(page, "tags")
    page.goto(url + "#/tags?tab=aliases")  # type: ignore[attr-defined]
    page.fill("input[name=alias]", "kitty_ears")  # type: ignore[attr-defined]
    page.fill("input[name=tag]", "cat_ears")  # type: ignore[attr-defined]
    page.press("input[name=tag]", "Enter")  # type: ignore[attr-defined]
    page.wait_for_selector("td >> text=kitty_ears")  # type: ignore[attr-defined]
    assert ["kitty_ears", "cat_ears"] in [
        [a["alias"], a["tag"]] for a in httpx.get(url + "api/tags/aliases").json()["aliases"]]
    shot(page, "tags-aliases")

    extra = sample.art / "more"
    extra.mkdir()
    (extra / "broken.png").write_bytes(b"\x89PNG not really")
    page.goto(url + "#/jobs")  # type: ignore[attr-defined]
    page.fill("#job-folders", str(extra))  # type: ignore[attr-defined]
    page.click("#job-start")  # type: ignore[attr-defined]
    page.wait_for_selector("#job-state.state-done")  # type: ignore[attr-defined]
    page.wait_for_selector("#job-errors:not([hidden])")  # type: ignore[attr-defined]
    assert "broken.png" in page.inner_text("#job-errors")  # type: ignore[attr-defined]
    shot(page, "jobs")

    phone = browser.new_context(viewport={"width": 390, "height": 844},  # type: ignore[attr-defined]
                                device_scale_factor=2, is_mobile=True, has_touch=True)
    small = phone.new_page()
    small.goto(url)
    small.wait_for_function(  # every picture on the first screen has its thumbnail
        "() => [...document.querySelectorAll('#gallery-grid .tile img')]"
        ".filter(i => i.getBoundingClientRect().top < innerHeight)"
        ".every(i => i.complete && i.naturalWidth > 0)")
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "nothing should scroll sideways on a phone"
    shot(small, "phone-gallery")
    small.goto(url + "#/dupes")
    small.wait_for_selector("#compare .pane[data-side='right']")
    shot(small, "phone-dupes")
    phone.close()


def test_cluster_run_shows_grids_and_map(
    page: object, served: tuple[str, SampleLibrary]
) -> None:
    url, _ = served
    page.goto(url + "#/clusters")  # type: ignore[attr-defined]
    page.fill("#cluster-k", "3")  # type: ignore[attr-defined]
    page.click("#cluster-run")  # type: ignore[attr-defined]
    page.wait_for_selector("#cluster-grids .cluster", timeout=60_000)  # type: ignore[attr-defined]
    assert page.locator("#cluster-grids .cluster").count() == 3  # type: ignore[attr-defined]
    shot(page, "clusters")
    if page.is_enabled("#map-tab"):  # type: ignore[attr-defined]
        page.click("#map-tab")  # type: ignore[attr-defined]
        page.wait_for_selector("#cluster-map")  # type: ignore[attr-defined]
        shot(page, "clusters-map")
    assert httpx.post(url + "api/undo", headers=CHANGE, json={}).status_code == 200


def test_search_by_a_picture_from_this_computer(
    page: object, served: tuple[str, SampleLibrary]
) -> None:
    url, sample = served
    original = sample.art / "pictures" / "art_02.png"
    page.goto(url)  # type: ignore[attr-defined]
    wait_for_thumbnails(page, 6)
    page.set_input_files("#upload-input", str(original))  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        r"() => /^\d+ pictures? like art_02\.png$/.test("
        "document.querySelector('#gallery-count').textContent)")
    first = page.get_attribute("#gallery-grid .tile", "title")  # type: ignore[attr-defined]
    assert first == str(original)
    wait_for_thumbnails(page, 2)
    shot(page, "search-by-picture")
