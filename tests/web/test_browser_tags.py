"""The Tags page in Chromium: changes that retag pictures say how many and ask first,
unknown targets are refused, rows are edited and deleted, a tag is renamed with its
captions rewritten (the walkthrough), and all of it is undone from the UI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web import browserkit
from tests.web.browserkit import Site, phone_shot, shot

pytestmark = pytest.mark.browser
# One Chromium and one served library for the module (fixtures shared with the others).
browser, page, site = browserkit.browser, browserkit.page, browserkit.site


def tag_names(site: Site) -> dict[str, int]:
    return {t["name"]: t["count"] for t in site.get("api/tags")["tags"]}


def captions_with(site: Site, text: str) -> list[Path]:
    return [p for p in site.sample.art.rglob("*.txt") if text in p.read_text(encoding="utf-8")]


def test_alias_that_retags_asks_with_the_count_and_undoes(page: Any, site: Site) -> None:
    tags = site.get("api/tags")["tags"]
    gone, keep = tags[2], tags[3]
    page.goto(site.url + "#/tags?tab=aliases")
    page.fill("input[name=alias]", gone["name"])
    page.fill("input[name=tag]", keep["name"])
    page.click("form.card button[type=submit]")
    page.wait_for_selector("#confirm-count")
    assert f"This changes the tags of {gone['count']} pictures" in page.inner_text(".modal")
    shot(page, "tags-alias-confirm")
    page.click(".modal button:has-text('Cancel')")
    assert gone["name"] in tag_names(site)  # asked, refused: nothing changed

    page.fill("input[name=alias]", "zzz")
    page.fill("input[name=tag]", "no_such_tag_xyz")
    page.click("form.card button[type=submit]")
    page.wait_for_selector(".toast.error >> text=no_such_tag_xyz")
    assert "zzz" not in {a["alias"] for a in site.get("api/tags/aliases")["aliases"]}

    page.fill("input[name=alias]", gone["name"])
    page.fill("input[name=tag]", keep["name"])
    page.click("form.card button[type=submit]")
    page.click(".modal button:has-text('Go ahead')")
    page.wait_for_selector(f".toast >> text={gone['count']} pictures affected")
    assert gone["name"] not in tag_names(site)
    page.click(".toast button:has-text('Undo')")
    page.wait_for_selector(".toast >> text=Undone.")
    assert tag_names(site)[gone["name"]] == gone["count"]


def test_alias_rows_are_edited_and_deleted(page: Any, site: Site) -> None:
    tags = site.get("api/tags")["tags"]
    page.goto(site.url + "#/tags?tab=aliases")
    page.fill("input[name=alias]", "kitty")
    page.fill("input[name=tag]", tags[0]["name"])
    page.press("input[name=tag]", "Enter")
    row = page.locator("#aliases-table tr", has_text="kitty")
    row.wait_for()
    row.locator("button.edit").click()
    page.fill("input[name=tag]", tags[1]["name"])
    page.click("form.card button:has-text('Save')")
    page.locator("#aliases-table td", has_text=tags[1]["name"]).wait_for()
    assert {"alias": "kitty", "tag": tags[1]["name"]} in site.get("api/tags/aliases")["aliases"]
    shot(page, "tags-aliases-edit")
    page.locator("#aliases-table tr", has_text="kitty").locator("button.delete").click()
    page.wait_for_selector("text=No aliases yet.")
    assert site.get("api/tags/aliases")["aliases"] == []
    page.locator(".toast", has_text="Deleted kitty").locator("button").click()  # Undo
    page.locator("#aliases-table td", has_text="kitty").wait_for()

    # An implication that changes what pictures match asks first too.
    page.goto(site.url + "#/tags?tab=implications")
    page.fill("input[name=tag]", tags[0]["name"])
    page.fill("input[name=implied]", tags[-1]["name"])
    page.click("form.card button[type=submit]")
    page.wait_for_selector("#confirm-count")
    page.click(".modal button:has-text('Go ahead')")
    row = page.locator("#implications-table tr", has_text=tags[-1]["name"])
    row.wait_for()
    page.locator(".toast", has_text="affected").locator("button").click()  # Undo
    page.wait_for_selector("text=No implications yet.")
    assert site.get("api/tags/implications")["implications"] == []


def test_rename_a_tag_and_write_captions(page: Any, browser: Any, site: Site) -> None:
    """Walkthrough: find a tag by part of its name, rename it, rewrite its pictures'
    captions; undo puts both back."""
    tag = site.get("api/tags")["tags"][0]
    new = f"{tag['name']}_renamed"
    page.goto(site.url + "#/tags")
    page.fill("#tag-filter", tag["name"][1:-1])  # the middle: no prefix match
    row = page.locator(f"#tag-table tr[data-tag='{tag['name']}']")
    row.wait_for()
    assert page.locator("#tag-table tr[data-tag]").count() >= 1
    shot(page, "tags-filter")
    row.locator("button.rename").click()
    page.fill("#change-name", new)
    page.check("#change-captions")
    shot(page, "tags-rename-dialog")
    page.click(".modal button.primary")
    page.wait_for_selector("#confirm-count")
    assert f"{tag['count']} pictures" in page.inner_text("#confirm-count")
    page.click(".modal button:has-text('Go ahead')")
    page.wait_for_selector(".toast >> text=caption files")
    assert f"Rewrote {tag['count']} caption files" in page.inner_text(".toast")
    shot(page, "tags-renamed")
    assert len(captions_with(site, new.replace("_", " "))) == tag["count"]
    assert new in tag_names(site) and tag["name"] not in tag_names(site)
    width = phone_shot(browser, site.url + "#/tags", "tags", "#tag-table")
    assert width <= 390, "the tags page scrolls sideways on a phone"

    page.click(".toast button:has-text('Undo')")
    page.wait_for_selector(".toast >> text=Undone.")
    assert captions_with(site, new.replace("_", " ")) == []
    assert tag_names(site)[tag["name"]] == tag["count"]


def test_category_merge_and_delete_from_the_table(page: Any, site: Site) -> None:
    tags = site.get("api/tags")["tags"]
    page.goto(site.url + "#/tags")
    row = page.locator(f"#tag-table tr[data-tag='{tags[-1]['name']}']")
    row.locator("select.tag-category").select_option("artist")
    page.wait_for_selector(f".toast >> text={tags[-1]['name']} is now artist")
    assert {t["name"]: t["category"] for t in site.get("api/tags")["tags"]}[
        tags[-1]["name"]] == "artist"

    row = page.locator(f"#tag-table tr[data-tag='{tags[1]['name']}']")
    row.locator("button.delete").click()
    page.click(".modal button.danger")
    page.click(".modal button:has-text('Go ahead')")
    page.wait_for_selector(".toast >> text=Caption files were not touched")
    assert tags[1]["name"] not in tag_names(site)
    page.click(".toast button:has-text('Undo')")
    page.wait_for_selector(".toast >> text=Undone.")
    assert tags[1]["name"] in tag_names(site)


def test_picture_tag_edit_writes_the_caption_when_asked(page: Any, site: Site) -> None:
    item = site.get("api/images", limit=1)["items"][0]
    txt = Path(item["path"]).with_suffix(".txt")
    page.goto(site.url + f"#/image/{item['id']}")
    page.wait_for_selector("#add-tag-input")
    page.fill("#add-tag-input", "no_caption_tag")
    page.press("#add-tag-input", "Enter")
    page.wait_for_selector(".toast >> text=caption was not touched")
    assert "no caption tag" not in txt.read_text(encoding="utf-8")
    page.check("#write-caption")
    page.fill("#add-tag-input", "caption_tag")
    page.press("#add-tag-input", "Enter")
    page.wait_for_selector(".toast >> text=caption was rewritten")
    assert "caption tag" in txt.read_text(encoding="utf-8")
    shot(page, "picture-caption-written")
    page.locator(".toast", has_text="caption was rewritten").locator("button").click()
    page.locator("#picture-tags [data-tag='caption_tag']").wait_for(state="detached")
    assert "caption tag" not in txt.read_text(encoding="utf-8")
