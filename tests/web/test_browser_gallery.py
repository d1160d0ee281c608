"""Gallery, search and picture pages in Chromium: errors shown in place, "did you mean"
as a link, Enter on a complete tag, the selection bar's trash / move / export with undo,
"more like this", keyboard focus and selection, the keeper's contrast, the preload."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.web import browserkit
from tests.web.browserkit import Site, phone_shot, shot

pytestmark = pytest.mark.browser
# One Chromium and one served library for the module (fixtures shared with the others).
browser, page, site = browserkit.browser, browserkit.page, browserkit.site


def wait_for_tiles(page: Any, n: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('#gallery-grid .tile').length === n", arg=n)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""
    def luminance(colour: str) -> float:
        channels = [int(colour.strip().lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_errors_show_in_place(page: Any, browser: Any, site: Site) -> None:
    tag = site.get("api/tags")["tags"][0]["name"]
    page.goto(site.url + f"#/?q={tag}%20(")
    page.wait_for_selector("#gallery-error")
    text = page.inner_text("#gallery-error")
    assert "This search cannot be read" in text and re.search(r"\(at \d+\)", text)
    assert "^" in page.inner_text("#gallery-error pre")  # points at the trouble
    shot(page, "gallery-syntax-error")
    phone_shot(browser, site.url + f"#/?q={tag}%20(", "gallery-syntax-error", "#gallery-error")

    page.goto(site.url + "#/image/987654321")
    page.wait_for_selector("#picture-error")
    assert "There is no picture 987654321" in page.inner_text("#picture-error")
    shot(page, "picture-unknown-id")

    page.goto(site.url + f"#/?q={tag}%20-{tag}")
    page.wait_for_selector("#gallery-empty")
    assert "No picture matches this search" in page.inner_text("#gallery-empty")


def test_did_you_mean_is_a_link(page: Any, site: Site) -> None:
    top = site.get("api/tags")["tags"][0]
    typo = top["name"][:-1] + ("x" if top["name"][-1] != "x" else "y")
    page.goto(site.url + f"#/?q={typo}")
    link = page.locator(".did-you-mean", has_text=top["name"]).first
    link.wait_for()
    shot(page, "gallery-did-you-mean")
    link.click()
    page.wait_for_function("t => document.querySelector('#gallery-count')"
                           ".textContent === `${t} pictures`", arg=top["count"])
    assert f"q={top['name']}" in page.url


def test_enter_searches_a_complete_tag(page: Any, site: Site) -> None:
    top = site.get("api/tags")["tags"][0]
    page.goto(site.url)
    search = page.locator("#search-input")
    search.click()
    search.type(top["name"], delay=20)
    page.locator(".search .ac-list li").first.wait_for()  # the list is open
    search.press("Enter")
    wait_for_tiles(page, top["count"])
    assert search.input_value().strip() == top["name"]


def test_keyboard_selection_and_the_selection_bar(page: Any, browser: Any, site: Site) -> None:
    items = site.get("api/images", limit=500)["items"]
    page.goto(site.url)
    wait_for_tiles(page, len(items))
    first = page.locator("#gallery-grid .tile").first
    first.focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")  # focus by keyboard: :focus-visible applies
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert ring == "solid"
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    assert page.locator("#gallery-grid .tile.selected").count() == 2
    shot(page, "gallery-keyboard-selection")
    chosen = [int(x) for x in page.eval_on_selector_all(
        "#gallery-grid .tile.selected", "ts => ts.map(t => t.dataset.id)")]
    paths = {i["id"]: Path(i["path"]) for i in items}

    # Trash, then undo.
    page.click("#sel-trash")
    page.click(".modal button.danger")
    page.wait_for_selector(".toast >> text=Moved to the trash")
    assert not any(paths[i].exists() for i in chosen)
    shot(page, "gallery-trashed")
    page.click(".toast button:has-text('Undo')")
    page.wait_for_selector(".toast >> text=Put back")
    assert all(paths[i].exists() for i in chosen)

    # Export (copy) the selection, then undo: the copies and the folder go.
    wait_for_tiles(page, len(items))
    for i in chosen:
        page.focus(f"#gallery-grid .tile[data-id='{i}']")
        page.keyboard.press("Space")
    assert page.locator("#gallery-grid .tile.selected").count() == 2
    dest = site.sample.dir.parent / "exported"
    page.click("#sel-export")
    page.fill("#files-dest", str(dest))
    shot(page, "gallery-export-dialog")
    page.click(".modal button.primary")
    page.wait_for_selector(".toast >> text=Exported to")
    assert sorted(p.name for p in dest.glob("*.png")) == sorted(paths[i].name for i in chosen)
    page.click(".toast button:has-text('Undo')")
    page.wait_for_selector(".toast >> text=Put back")
    assert not dest.exists()  # the copies and the folder the export made
    def select_two(phone: Any) -> None:
        for i in chosen:
            phone.focus(f"#gallery-grid .tile[data-id='{i}']")
            phone.keyboard.press("Space")
        phone.wait_for_selector("#sel-trash")

    width = phone_shot(browser, site.url, "gallery-selection-bar", "#gallery-grid .tile",
                       select_two)
    assert width <= 390

    # Move, then undo.
    target = site.sample.dir.parent / "moved"
    page.click("#sel-move")
    page.fill("#files-dest", str(target))
    page.click(".modal button.primary")
    page.wait_for_selector(".toast >> text=Moved to")
    assert sorted(p.name for p in target.glob("*.png")) == sorted(paths[i].name for i in chosen)
    page.click(".toast button:has-text('Undo')")
    page.wait_for_selector(".toast >> text=Put back")
    assert all(paths[i].exists() for i in chosen)


def test_more_like_this_opens_a_similar_search(page: Any, site: Site) -> None:
    items = site.get("api/images", limit=500)["items"]
    item = next(i for i in items if site.get(f"api/images/{i['id']}/similar")["items"])
    page.goto(site.url + f"#/image/{item['id']}")
    page.click("#more-like-this")
    page.wait_for_function("() => /^\\d+ pictures?$/.test("
                           "document.querySelector('#gallery-count').textContent)")
    assert f"similar%3A{item['id']}" in page.url or f"similar:{item['id']}" in page.url
    assert page.locator("#gallery-grid .tile").count() >= 1
    shot(page, "gallery-more-like-this")


def test_keeper_green_meets_wcag_aa(page: Any, site: Site) -> None:
    page.goto(site.url + "#/tags")
    page.wait_for_selector("#tag-table")
    colours = page.evaluate("""() => { const s = getComputedStyle(document.documentElement);
        return ['--good', '--panel', '--bg'].map(v => s.getPropertyValue(v).trim()); }""")
    good, panel, bg = colours
    assert contrast(good, panel) >= 4.5 and contrast(good, bg) >= 4.5, colours


def test_first_page_preload_only_on_the_gallery(page: Any, site: Site) -> None:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/images?" in r.url else None)
    page.goto(site.url + "#/tags")
    page.wait_for_selector("#tag-table")
    page.wait_for_timeout(300)
    assert asked == []
    page.goto(site.url + "#/")
    page.wait_for_selector("#gallery-grid .tile")
    assert len([u for u in asked if "offset=0" in u]) == 1  # the early one, used
