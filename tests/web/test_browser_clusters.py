"""Clusters and jobs in Chromium: export one cluster (the walkthrough) and undo it,
folders included; open a cluster in the gallery; readable errors; a failed run keeps
the previous result, which also survives a new browser session; tag jobs with a chosen
model and thresholds; a missing model refused at once; a failed job's reason kept;
cluster jobs open their result; the jobs page on a phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.onnx_models import build_tagger
from tests.web import browserkit
from tests.web.browserkit import Site, phone_shot, shot

pytestmark = pytest.mark.browser
# One Chromium and one served library for the module (fixtures shared with the others).
browser, page, site = browserkit.browser, browserkit.page, browserkit.site


@pytest.fixture(scope="module", autouse=True)
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A models folder with a tiny WD-layout tagger and a broken one; offline."""
    folder = tmp_path_factory.mktemp("models")
    build_tagger(folder / "tiny-tagger")
    broken = folder / "broken-tagger"
    build_tagger(broken)
    (broken / "model.onnx").write_bytes(b"not an onnx model")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ILLUDEX_MODELS_DIR", str(folder))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("HF_HOME", str(folder / "hf-home"))
        mp.delenv("HF_HUB_CACHE", raising=False)
        yield folder


def run_clustering(page: Any, site: Site, k: str = "3") -> None:
    page.goto(site.url + "#/clusters")
    page.fill("#cluster-k", k)
    page.click("#cluster-run")
    page.wait_for_selector("#cluster-grids .cluster", timeout=60_000)


def test_export_one_cluster_and_undo_removes_its_folder(
    page: Any, browser: Any, site: Site
) -> None:
    """Walkthrough: cluster, export one cluster to a new folder, look, undo."""
    run_clustering(page, site)
    assert page.locator("[id=cluster-map]").count() <= 1  # one element per id
    shot(page, "clusters-result")
    section = page.locator("#cluster-grids .cluster").first
    size = int(section.locator("h3 .muted").first.inner_text().split()[0])
    dest = site.sample.dir.parent / "exports" / "one"
    section.locator("button.export-one").click()
    page.fill("#export-dest", str(dest))
    shot(page, "clusters-export-dialog")
    page.click(".modal button.primary")
    page.wait_for_selector(".toast >> text=Exported cluster")
    folders = [p for p in dest.iterdir() if p.is_dir()]
    assert len(folders) == 1  # only that cluster, no outliers folder
    assert len(list(folders[0].glob("*.png")) + list(folders[0].glob("*.jpg"))
               + list(folders[0].glob("*.webp"))) == size
    page.click(".toast button:has-text('Undo')")
    page.wait_for_selector(".toast >> text=Export undone")
    assert not dest.exists() and not dest.parent.exists()  # the folders it made are gone
    job = page.evaluate("localStorage.getItem('illudex.clusterJob')")
    width = phone_shot(browser, site.url + f"#/clusters?job={job}", "clusters",
                       "#cluster-grids .cluster",
                       lambda p: p.locator("#cluster-grids .cluster").first
                       .scroll_into_view_if_needed())
    assert width <= 390


def test_open_a_cluster_in_the_gallery(page: Any, site: Site) -> None:
    run_clustering(page, site)
    section = page.locator("#cluster-grids .cluster").first
    size = int(section.locator("h3 .muted").first.inner_text().split()[0])
    section.locator("a.open-cluster").click()
    page.wait_for_function(
        "n => document.querySelectorAll('#gallery-grid .tile').length === n", arg=size)
    assert page.inner_text("#gallery-title").startswith("Cluster #")
    shot(page, "clusters-open-in-gallery")


def test_errors_are_sentences_and_a_failed_run_keeps_the_result(page: Any, site: Site) -> None:
    response = site.post("api/clusters", {"k": "lots"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("number of clusters (k): give a whole number")
    run_clustering(page, site)
    before = page.inner_text("#cluster-grids")
    page.fill("#cluster-k", "lots")
    page.click("#cluster-run")
    page.wait_for_selector("#cluster-status >> text=give a whole number of 2 or more")
    # A run that fails in the job (no picture has an embedding) keeps the last result.
    page.fill("#cluster-k", "3")
    page.select_option("#cluster-by", "embedding")
    page.click("#cluster-run")
    page.wait_for_selector("#cluster-failed", timeout=60_000)
    assert page.inner_text("#cluster-grids") == before
    shot(page, "clusters-failed-run")

    # A new browser session (a new tab: nothing in sessionStorage) shows the result again.
    again = page.context.new_page()
    again.goto(site.url + "#/clusters")
    again.wait_for_selector("#cluster-grids .cluster")
    assert again.inner_text("#cluster-grids") == before
    again.close()


def test_tag_job_with_a_chosen_model_and_thresholds(page: Any, browser: Any, site: Site) -> None:
    page.goto(site.url + "#/jobs")
    page.select_option("#job-kind", "tag")
    assert "tiny-tagger" in page.inner_text("#job-model")
    # The default model is not on this machine: refused at once, in one line.
    page.click("#job-start")
    page.wait_for_selector("#job-form-error >> text=is not on this machine")
    assert "\n" not in page.inner_text("#job-form-error")
    shot(page, "jobs-missing-model")

    page.select_option("#job-model", "tiny-tagger")
    page.fill("#job-general", "0.2")
    page.fill("#job-character", "0.9")
    page.click("#job-start")
    page.wait_for_selector("#job-state.state-done", timeout=60_000)
    assert "/" in page.inner_text("#job-counts")  # done / total
    shot(page, "jobs-tag-done")
    width = phone_shot(browser, site.url + "#/jobs", "jobs", "#job-history")
    assert width <= 390
    tags = {t["source"] for i in site.get("api/images", limit=3)["items"]
            for t in site.get(f"api/images/{i['id']}")["tags"]}
    assert any(s.startswith("model:") for s in tags)


def test_failed_job_keeps_its_reason_and_cluster_jobs_open(page: Any, site: Site) -> None:
    response = site.post("api/jobs", {"kind": "tag", "model": "broken-tagger"})
    assert response.status_code == 202, response.text
    job = response.json()["id"]
    page.goto(site.url + "#/jobs")
    page.wait_for_selector(f"#job-history tr[data-job='{job}'] .state-failed", timeout=60_000)
    page.reload()
    reason = page.locator(f"#job-history tr[data-job='{job}'] .job-reason")
    reason.wait_for()
    assert reason.inner_text().strip() and "\n" not in reason.inner_text().strip()
    shot(page, "jobs-failed-reason")

    started = site.post("api/clusters", {"k": 2}).json()["id"]
    page.goto(site.url + "#/jobs")
    link = page.locator(f"#job-history tr[data-job='{started}'] a.open-result")
    for _ in range(60):
        if link.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    link.click()
    page.wait_for_selector("#cluster-grids .cluster")
    assert page.locator("#cluster-grids .cluster").count() == 2
