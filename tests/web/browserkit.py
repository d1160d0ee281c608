"""What the browser test modules share: one Chromium and one served sample library per
module, a desktop page (1280×800) per test, a phone (390×844), and screenshots into
test-output/screenshots/ for people to look at."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from illudex.web import create_app
from illudex.web.background import BackgroundServer
from tests.web.conftest import CHANGE, SampleLibrary, scanned_sample

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
TIMEOUT_MS = 15_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@dataclass
class Site:
    url: str  # ends with "/"
    sample: SampleLibrary

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(self.url + path, params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict) -> httpx.Response:
        return httpx.post(self.url + path, json=body, headers=CHANGE, timeout=60)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Chromium (apt-get install chromium) "
                    "to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sample_pictures: Path) -> Iterator[Site]:
    sample = scanned_sample(tmp_path_factory.mktemp("site"), sample_pictures)
    with BackgroundServer(create_app(sample.dir)) as server:
        yield Site(server.url, sample)


def new_page(browser: Any, viewport: dict[str, int], errors: list[str]) -> Any:
    phone = viewport["width"] < 600
    context = browser.new_context(viewport=viewport, device_scale_factor=2 if phone else 1,
                                  is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning")
            else None)
    return page


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A desktop page; no script error or console warning may happen on it."""
    errors: list[str] = []
    page = new_page(browser, DESKTOP, errors)
    yield page
    page.context.close()
    # A refused request (a 4xx the test provokes) is logged as "Failed to load resource".
    assert not [e for e in errors if "Failed to load resource" not in e], errors


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def phone_shot(browser: Any, url: str, name: str, ready: str,
               act: Callable[[Any], object] | None = None) -> Any:
    """The same page on a phone (after `act`, if given): screenshot it, and return how
    wide the page is (more than 390: something scrolls sideways)."""
    errors: list[str] = []
    phone = new_page(browser, PHONE, errors)
    try:
        phone.goto(url)
        phone.wait_for_selector(ready)
        if act is not None:
            act(phone)
        shot(phone, f"{name}-phone")
        return phone.evaluate("document.documentElement.scrollWidth")
    finally:
        phone.context.close()
