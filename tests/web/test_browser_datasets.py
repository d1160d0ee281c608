"""The Datasets page in Chromium: the walkthrough (a cluster exported as a kohya dataset
from the Clusters page, then its report opened, without the CLI), the selection as a
source, and readable errors beside the fields they are about, on a desktop and a phone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web import browserkit
from tests.web.browserkit import Site, phone_shot, shot

pytestmark = pytest.mark.browser
# One Chromium and one served library for the module (fixtures shared with the others).
browser, page, site = browserkit.browser, browserkit.page, browserkit.site


def add_step(page: Any, name: str, **params: str) -> None:
    page.select_option("#ds-add-step", name)
    page.click("#ds-add")
    step = page.locator("#ds-steps .ds-step").last
    assert step.get_attribute("data-use") == name
    for key, value in params.items():
        step.locator(f"input[id$='-{key}']").fill(value)


def test_walkthrough_export_a_cluster_as_kohya_and_open_the_report(
    page: Any, browser: Any, site: Site, tmp_path: Path
) -> None:
    page.goto(site.url + "#/clusters")
    page.fill("#cluster-k", "2")
    page.click("#cluster-run")
    page.wait_for_selector("#cluster-grids .cluster", timeout=60_000)
    sections = page.locator("#cluster-grids .cluster")
    sizes = [int(sections.nth(n).locator("h3 .muted").first.inner_text().split()[0])
             for n in range(sections.count())]
    size = max(sizes)  # the largest: duplicates and small pictures to drop
    page.locator("#cluster-grids .cluster").nth(sizes.index(size)).locator("a.to-dataset").click()

    page.wait_for_selector("#ds-source-cluster:checked")
    add_step(page, "min-size", size="750")  # drops the 800×720 pictures and the small ones
    add_step(page, "dedupe")
    page.select_option("#ds-format", "kohya")
    out = tmp_path / "walk-dataset"
    page.fill("#ds-dir", str(out))
    page.fill("#ds-export-name", "walk")
    page.fill("#ds-export-repeats", "10")
    page.fill("#ds-sample", "100")
    page.click("#ds-preview-run")
    page.wait_for_selector("#ds-preview-counts", timeout=60_000)
    kept = page.locator("#ds-kept .ds-pic").count()
    dropped = page.locator(".ds-dropped .ds-pic").count()
    assert kept + dropped == size and kept > 0 and dropped > 0
    reasons = page.locator(".ds-dropped .ds-pic figcaption .muted").all_inner_texts()
    assert all(r.strip() for r in reasons)  # every dropped picture says why
    page.evaluate("scrollTo(0, 0)")
    shot(page, "datasets-preview")

    page.click("#ds-build")
    page.wait_for_selector("#ds-report", timeout=90_000)
    assert page.inner_text("#ds-job-state") == "done"
    page.evaluate("scrollTo(0, 0)")
    shot(page, "datasets-built")
    captions = sorted((out / "img" / "10_walk").glob("*.txt"))
    pictures = [p for p in (out / "img" / "10_walk").iterdir() if p.suffix != ".txt"]
    assert len(captions) == len(pictures) == kept  # the preview said what the build did
    assert "num_repeats = 10" in (out / "dataset.toml").read_text()

    job = page.inner_text("#ds-job h2").split()[-1]
    page.goto(site.url + "#/jobs")  # the jobs page lists it and leads back to its result
    page.click(f"#job-history tr[data-job='{job}'] a.open-result")
    page.wait_for_selector("#ds-summary >> text=Exported")
    with page.expect_popup() as opened:
        page.click("#ds-report")
    report = opened.value
    report.wait_for_load_state("load")  # the first screen of thumbnails (the rest is lazy)
    assert "kohya" in report.title()
    for _ in range(100):  # the report's CSP forbids eval, so no wait_for_function
        if report.evaluate("document.images[0].naturalWidth") > 0:
            break
        report.wait_for_timeout(100)
    assert report.evaluate("document.images[0].naturalWidth") > 0
    sources = report.evaluate("[...document.images].map(i => i.src)")
    assert len(sources) == size  # every picture of the cluster: kept or dropped, and why
    for src in sources:
        response = httpx.get(src, timeout=30)
        assert response.status_code == 200 and response.headers["content-type"].startswith("image/")
    report.set_viewport_size(browserkit.DESKTOP)
    shot(report, "datasets-report")
    report.close()

    # A phone, led here from a cluster (a new browser: the form starts afresh).
    job = page.evaluate("localStorage.getItem('illudex.clusterJob')")
    width = phone_shot(browser, site.url + f"#/datasets?cluster={job}:0", "datasets", "#ds-build")
    assert width <= 390


def test_the_selection_as_source(page: Any, site: Site) -> None:
    ids = [i["id"] for i in site.get("api/images", limit=3)["items"]]
    page.goto(site.url + "#/")
    page.evaluate("ids => sessionStorage.setItem('illudex.selection', JSON.stringify(ids))", ids)
    page.reload()
    page.click("#sel-dataset")
    page.wait_for_selector("#ds-source-ids:checked")
    assert "3 pictures" in page.inner_text(".ds-source")
    page.click("#ds-preview-run")
    page.wait_for_selector("#ds-preview-counts")
    assert page.locator("#ds-preview .ds-pic").count() == 3


def test_errors_are_sentences_beside_their_fields(page: Any, browser: Any, site: Site) -> None:
    page.goto(site.url + "#/datasets")
    page.evaluate("sessionStorage.removeItem('illudex.datasetForm')")
    page.reload()
    page.fill("#ds-query", "1girl")
    page.fill("#ds-dir", "")
    page.click("#ds-build")  # no folder: said at once, beside the folder
    where = "[data-error-for='export.dir']"
    page.wait_for_selector(f"{where} >> text=Choose the folder")
    assert page.get_attribute("#ds-dir", "aria-invalid") == "true"

    page.fill("#ds-dir", "datasets/relative")
    page.click("#ds-build")
    page.wait_for_selector(f"{where} >> text=give the full path")
    page.fill("#ds-dir", str(site.sample.art / "inside"))
    page.click("#ds-build")
    page.wait_for_selector(f"{where} >> text=overlaps the library folder")

    add_step(page, "align-min-size", size="big")
    page.click("#ds-preview-run")
    page.wait_for_selector("[data-error-for='step-1.size'] >> text=give a whole number")
    assert page.get_attribute("#ds-step-1-size", "aria-invalid") == "true"
    shot(page, "datasets-errors")

    page.fill("#ds-step-1-size", "")
    page.fill("#ds-query", "width:>=abc (")
    page.click("#ds-preview-run")
    page.wait_for_selector("[data-error-for='source'] >> text=cannot be used")
    form = json.loads(page.evaluate("sessionStorage.getItem('illudex.datasetForm')"))
    assert form["steps"] == [{"use": "align-min-size", "params": {"size": ""}}]
    width = phone_shot(browser, site.url + "#/datasets", "datasets-form", "#ds-build",
                       lambda p: (add_step(p, "pad", size="512"), p.click("#ds-build"),
                                  p.wait_for_selector(f"{where} >> text=Choose")))
    assert width <= 390
