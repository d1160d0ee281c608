"""A watcher's notice (a new duplicate) shows in the open web UI as a toast that leads to
the review; notices from before the page opened do not."""

from __future__ import annotations

from typing import Any

import pytest

from illudex.watch.notices import NoticeLog
from tests.web import browserkit
from tests.web.browserkit import Site, shot

pytestmark = pytest.mark.browser
browser, page, site = browserkit.browser, browserkit.page, browserkit.site


def test_a_new_duplicate_shows_as_a_toast(page: Any, site: Site) -> None:
    log = NoticeLog(site.sample.dir)
    art = site.sample.art
    log.add("old", {"kind": "duplicate", "new": [str(art / "before.png")], "files": []})
    page.goto(site.url + "#/")
    page.wait_for_selector(".gallery, .grid, #view > *")
    page.wait_for_timeout(500)  # the first poll has read what was there
    log.add("new", {"kind": "duplicate", "new": [str(art / "fresh-copy.png")], "files": []})
    toast = page.wait_for_selector(".toast:has-text('New duplicate: fresh-copy.png')",
                                   timeout=12_000)
    assert page.locator(".toast:has-text('before.png')").count() == 0
    shot(page, "watch-notice-toast")
    toast.query_selector("button").click()
    page.wait_for_url("**#/dupes?refresh=1")
