"""Duplicate review, alternates and History in a real headless Chromium against a real
server on a real library: a toast's Undo undoes its own step, the History page undoes
any action and restores from the trash, the review follows the URL and changes made
elsewhere, the apply-all summary by group, the aligned difference view, the phone.

One server and one browser serve the module; after each test everything it did is
undone (the journal, newest first) and its decisions forgotten. Screenshots go to
test-output/screenshots/ at 1280x800 and 390x844.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from illudex.library import Library
from illudex.web import create_app
from illudex.web.background import BackgroundServer
from tests.web import browserkit
from tests.web.browserkit import DESKTOP, PHONE, TIMEOUT_MS, shot
from tests.web.conftest import SampleLibrary, scanned_sample

browser = browserkit.browser  # one Chromium per module, launched as in every browser module

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sample_pictures: Path
           ) -> Iterator[tuple[str, SampleLibrary]]:
    sample = scanned_sample(tmp_path_factory.mktemp("review"), sample_pictures)
    with BackgroundServer(create_app(sample.dir)) as server:
        yield server.url, sample


@pytest.fixture(autouse=True)
def clean(served: tuple[str, SampleLibrary]) -> Iterator[None]:
    """Each test starts from the scanned sample: what the last one did is undone."""
    yield
    url, sample = served
    with Library.open(sample.dir) as lib:
        while (report := lib.history.undo()).action_id is not None:
            assert not report.conflicts, report
    with sqlite3.connect(sample.dir / "catalog.db") as conn:
        conn.execute("DELETE FROM dupe_decisions")
    httpx.get(url + "api/dupes", params={"refresh": 1}).raise_for_status()


def new_page(browser: object, viewport: dict[str, int]) -> object:
    phone = viewport["width"] < 500
    context = browser.new_context(viewport=viewport, device_scale_factor=2 if phone else 1,  # type: ignore[attr-defined]
                                  is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors  # type: ignore[attr-defined]
    return page


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    p = new_page(browser, DESKTOP)
    yield p
    p.context.close()  # type: ignore[attr-defined]
    assert not [e for e in p.errors if "Failed to load resource" not in e], p.errors  # type: ignore[attr-defined]


@pytest.fixture
def phone(browser: object) -> Iterator[object]:
    p = new_page(browser, PHONE)
    yield p
    p.context.close()  # type: ignore[attr-defined]
    assert not [e for e in p.errors if "Failed to load resource" not in e], p.errors  # type: ignore[attr-defined]


def open_review(page: object, url: str, hash_: str = "#/dupes") -> None:
    page.goto(url + hash_)  # type: ignore[attr-defined]
    wait_review(page)


def wait_review(page: object) -> None:
    page.wait_for_selector("#compare .pane[data-side='right']")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => [...document.querySelectorAll('#compare img')].every(i => i.naturalWidth > 0)")


def pair(page: object) -> tuple[int, int]:
    left = page.get_attribute("#compare .pane[data-side='left']", "data-id")  # type: ignore[attr-defined]
    right = page.get_attribute("#compare .pane[data-side='right']", "data-id")  # type: ignore[attr-defined]
    return int(left), int(right)


def path_of(url: str, image_id: int) -> Path:
    return Path(httpx.get(f"{url}api/images/{image_id}").json()["path"])


def test_a_toast_undo_undoes_its_own_step(page: object, served: tuple[str, SampleLibrary]
                                          ) -> None:
    url, _ = served
    open_review(page, url)
    _, first = pair(page)
    first_path = path_of(url, first)
    page.keyboard.press("ArrowLeft")  # type: ignore[attr-defined]  # trashes `first`
    page.wait_for_function(  # type: ignore[attr-defined]
        "id => document.querySelector('#compare .pane[data-side=right]')?.dataset.id != id",
        arg=str(first))
    _, second = pair(page)
    second_path = path_of(url, second)
    page.keyboard.press("ArrowLeft")  # type: ignore[attr-defined]  # trashes `second`
    page.wait_for_selector(f".toast >> text={second_path.name}")  # type: ignore[attr-defined]
    assert not first_path.exists() and not second_path.exists()
    shot(page, "review-two-toasts")

    # The first toast's Undo: `first` comes back, `second` stays in the trash.
    toast = page.locator(".toast", has_text=f"; {first_path.name} moved")  # type: ignore[attr-defined]
    toast.locator("button", has_text="Undo").click()
    page.wait_for_selector(".toast >> text=Put back")  # type: ignore[attr-defined]
    assert first_path.exists() and not second_path.exists()
    # The review shows the pair that came back.
    page.wait_for_function(  # type: ignore[attr-defined]
        "id => document.querySelector('#compare .pane[data-side=right]')?.dataset.id == id",
        arg=str(first))
    shot(page, "review-toast-undo-own-step")


def test_walkthrough_trash_all_duplicates_then_undo_from_history(
    page: object, served: tuple[str, SampleLibrary]
) -> None:
    url, sample = served
    plan = httpx.get(url + "api/dupes/plan").json()
    open_review(page, url)
    page.click("#apply-all")  # type: ignore[attr-defined]
    page.wait_for_selector("#apply-summary")  # type: ignore[attr-defined]
    # Every group as thumbnails: the keeper, what goes, the reason; each can be unticked.
    rows = page.locator("#apply-summary .apply-group")  # type: ignore[attr-defined]
    assert rows.count() == len(plan["review"]) > 1
    for n, group in enumerate(plan["review"]):
        row = rows.nth(n)
        assert row.locator(".tile.keep").count() == 1
        assert row.locator(".tile.goes").count() == len(group["remove"])
        assert group["reason"] in row.inner_text()
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => [...document.querySelectorAll('#apply-summary img')].every(i => i.naturalWidth > 0)")
    shot(page, "apply-all-summary")

    # Enter does not apply: the focus is on Cancel.
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    page.wait_for_selector("#apply-summary", state="detached")  # type: ignore[attr-defined]
    assert all(Path(m["from"]).exists() for m in plan["moves"])

    # Leave the first group out, apply the rest.
    page.click("#apply-all")  # type: ignore[attr-defined]
    first = plan["review"][0]
    rows.nth(0).locator("input[type=checkbox]").uncheck()
    moving = plan["files"] - len(first["remove"])
    assert page.inner_text(".modal button.primary") == f"Move {moving} files"  # type: ignore[attr-defined]
    page.click(".modal button.primary")  # type: ignore[attr-defined]
    page.wait_for_selector(f".toast >> text=Moved {moving} files")  # type: ignore[attr-defined]
    gone = [Path(f["path"]) for g in plan["review"][1:] for f in g["remove"]]
    assert not any(p.exists() for p in gone)
    assert all(Path(f["path"]).exists() for f in first["remove"])

    # The History page, from the navigation: the action, its moves, the trash.
    page.click("#nav a[data-view=history]")  # type: ignore[attr-defined]
    page.wait_for_selector("#history-actions .history-item")  # type: ignore[attr-defined]
    top = page.locator("#history-actions .history-item").first  # type: ignore[attr-defined]
    assert top.get_attribute("data-state") == "done"
    assert "Duplicates to the trash" in top.inner_text()
    assert page.locator("#trash .trash-item").count() == len(gone)  # type: ignore[attr-defined]
    top.locator("summary").click()
    assert str(gone[0]) in top.inner_text()
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => [...document.querySelectorAll('#trash img')].every(i => i.complete)")
    shot(page, "history")

    top.locator("button.undo").click()
    page.wait_for_selector(".toast >> text=Undone")  # type: ignore[attr-defined]
    page.wait_for_selector("#trash-empty")  # type: ignore[attr-defined]
    assert all(p.exists() for p in gone)
    assert page.get_attribute("#history-actions .history-item", "data-state") == "undone"  # type: ignore[attr-defined]
    shot(page, "history-after-undo")
    assert sample.dir.exists()


def test_keeping_the_other_copy_is_remembered(page: object, served: tuple[str, SampleLibrary]
                                              ) -> None:
    url, _ = served
    open_review(page, url)
    left, right = pair(page)
    left_path, right_path = path_of(url, left), path_of(url, right)
    page.keyboard.press("ArrowRight")  # type: ignore[attr-defined]  # keep the right one
    page.wait_for_selector(".toast >> text=moved to the trash")  # type: ignore[attr-defined]
    assert right_path.exists() and not left_path.exists()
    # With both back, a fresh comparison keeps the person's choice.
    with Library.open(served[1].dir) as lib:
        lib.history.undo()
    fresh = httpx.get(url + "api/dupes", params={"refresh": 1}).json()["groups"]
    group = next(g for g in fresh if right in {f["id"] for f in g["files"]})
    assert group["keep"] == right


def test_history_restores_one_picture_from_the_trash(
    page: object, served: tuple[str, SampleLibrary]
) -> None:
    url, _ = served
    group = httpx.get(url + "api/dupes").json()["groups"][0]
    other = next(f for f in group["files"] if f["id"] != group["keep"])
    httpx.post(url + "api/dupes/resolve", headers={"X-Illudex": "1"},
               json={"keep": group["keep"], "remove": [other["id"]]}).raise_for_status()
    assert not Path(other["path"]).exists()
    page.goto(url + "#/history")  # type: ignore[attr-defined]
    item = page.locator("#trash .trash-item").first  # type: ignore[attr-defined]
    assert other["name"] in item.inner_text()
    item.locator("button", has_text="Restore").click()
    page.wait_for_selector(".toast >> text=Restored 1 picture")  # type: ignore[attr-defined]
    assert Path(other["path"]).exists()
    page.wait_for_selector("#trash-empty")  # type: ignore[attr-defined]
    assert "Back from the trash" in page.inner_text("#history-actions .history-item")  # type: ignore[attr-defined]


def test_review_position_lives_in_the_url(page: object, served: tuple[str, SampleLibrary]
                                          ) -> None:
    url, _ = served
    open_review(page, url)
    page.keyboard.press("s")  # type: ignore[attr-defined]  # on to the next group
    page.wait_for_selector("#group-title >> text=Group 2 of")  # type: ignore[attr-defined]
    title, shown = page.inner_text("#group-title"), pair(page)  # type: ignore[attr-defined]
    assert page.url.endswith(f"#/dupes?image={shown[1]}")  # type: ignore[attr-defined]

    # Open a picture, come Back: the same group and pair.
    page.click("#compare .pane[data-side='right'] a:text('open')")  # type: ignore[attr-defined]
    page.wait_for_selector("#picture-img")  # type: ignore[attr-defined]
    page.go_back()  # type: ignore[attr-defined]
    wait_review(page)
    assert page.inner_text("#group-title") == title and pair(page) == shown  # type: ignore[attr-defined]

    # "Review duplicates →" on a picture page opens that picture's group.
    last = httpx.get(url + "api/dupes").json()["groups"][-1]
    member = next(f for f in last["files"] if f["id"] != last["keep"])
    page.goto(f"{url}#/image/{member['id']}")  # type: ignore[attr-defined]
    page.click("#review-dupes")  # type: ignore[attr-defined]
    page.wait_for_selector(f"#compare .pane[data-side='right'][data-id='{member['id']}']")  # type: ignore[attr-defined]
    groups = len(httpx.get(url + "api/dupes").json()["groups"])
    assert page.inner_text("#group-title") == f"Group {groups} of {groups}"  # type: ignore[attr-defined]


def test_review_follows_changes_made_elsewhere(
    page: object, served: tuple[str, SampleLibrary]
) -> None:
    url, sample = served
    open_review(page, url)
    before = len(httpx.get(url + "api/dupes").json()["groups"])
    assert f"{before} groups" in page.inner_text("#dupes-page .gallery-head")  # type: ignore[attr-defined]
    extra = sample.art / "later"
    extra.mkdir()
    shutil.copy(sample.art / "pictures" / "art_07.png", extra / "art_07 again.png")
    try:
        with Library.open(sample.dir) as lib:  # what `illudex scan` does, outside the server
            lib.workers = 1
            lib.scan([extra])
        page.evaluate("window.dispatchEvent(new Event('focus'))")  # type: ignore[attr-defined]
        page.wait_for_selector(".toast >> text=changed elsewhere")  # type: ignore[attr-defined]
        assert f"{before + 1} groups" in page.inner_text("#dupes-page .gallery-head")  # type: ignore[attr-defined]
    finally:
        shutil.rmtree(extra)
        with Library.open(sample.dir) as lib:
            lib.workers = 1
            lib.scan([sample.art])


def test_alternates_are_reviewed_side_by_side(
    page: object, phone: object, served: tuple[str, SampleLibrary]
) -> None:
    url, _ = served
    alternates = httpx.get(url + "api/dupes").json()["alternates"]
    assert alternates
    open_review(page, url)
    page.click("#alternates-link")  # type: ignore[attr-defined]
    page.wait_for_selector("#alternates-page .alt-pair")  # type: ignore[attr-defined]
    pairs = page.locator(".alt-pair")  # type: ignore[attr-defined]
    assert pairs.count() == len(alternates)
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => [...document.querySelectorAll('.alt-pair img')].every(i => i.naturalWidth > 0)")
    shot(page, "alternates")
    a, b = alternates[0]
    first = page.locator(f".alt-pair[data-a='{a['id']}'][data-b='{b['id']}']")  # type: ignore[attr-defined]
    first.locator("button[data-relation=not_duplicate]").click()
    page.wait_for_selector(".alt-pair[data-marked=not_duplicate]")  # type: ignore[attr-defined]
    again = httpx.get(url + "api/dupes", params={"refresh": 1}).json()
    assert [a["id"], b["id"]] not in [[x["id"], y["id"]] for x, y in again["alternates"]]
    first.locator("button", has_text="Undo").click()
    page.wait_for_selector(".alt-pair[data-marked]", state="detached")  # type: ignore[attr-defined]

    phone.goto(url + "#/dupes?tab=alternates")  # type: ignore[attr-defined]
    phone.wait_for_selector(".alt-pair img")  # type: ignore[attr-defined]
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # type: ignore[attr-defined]
    shot(phone, "phone-alternates")


def test_difference_view_lines_up_a_bordered_copy(
    page: object, served: tuple[str, SampleLibrary]
) -> None:
    url, _ = served
    group = next(g for g in httpx.get(url + "api/dupes").json()["groups"]
                 if any("(bordered)" in f["name"] for f in g["files"]))
    other = next(f for f in group["files"] if f["id"] != group["keep"])
    open_review(page, url, f"#/dupes?image={other['id']}")
    assert "(bordered)" in page.inner_text("#compare")  # type: ignore[attr-defined]
    page.keyboard.press("d")  # type: ignore[attr-defined]
    page.wait_for_selector("#diff-view canvas")  # type: ignore[attr-defined]
    mean = float(page.get_attribute("#diff-view canvas", "data-mean"))  # type: ignore[attr-defined]
    # Misaligned by the 16 px border, the drawings' shapes and outlines differ nearly
    # everywhere (a mean of ~40 of 765); lined up, only resampling noise is left.
    assert mean < 6, mean
    shot(page, "review-difference-aligned")


def test_phone_review_stacks_the_panes(phone: object, served: tuple[str, SampleLibrary]
                                       ) -> None:
    url, _ = served
    open_review(phone, url)
    boxes = [phone.locator(f"#compare .pane[data-side='{s}']").bounding_box()  # type: ignore[attr-defined]
             for s in ("left", "right")]
    assert all(b["width"] > 340 for b in boxes), boxes  # each the full width, not ~170 px
    assert boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"]  # one above the other
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # type: ignore[attr-defined]
    shot(phone, "phone-review")
    phone.click("#apply-all")  # type: ignore[attr-defined]
    phone.wait_for_selector("#apply-summary .apply-group")  # type: ignore[attr-defined]
    shot(phone, "phone-apply-all-summary")
    phone.keyboard.press("Escape")  # type: ignore[attr-defined]
    phone.goto(url + "#/history")  # type: ignore[attr-defined]
    phone.wait_for_selector("#history-page")  # type: ignore[attr-defined]
    link = phone.locator("#nav a[data-view=history]").bounding_box()  # type: ignore[attr-defined]
    assert link["x"] + link["width"] <= PHONE["width"], "History is reachable on a phone"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # type: ignore[attr-defined]
    shot(phone, "phone-history")
