"""Bad values a person sends reach the error mapping as project errors, on real routes of
a real server (uvicorn on a socket): a 4xx with the reason in words, never a 500 that
calls the person's typo a bug. Before issue 11 these options raised plain ValueErrors
deep in the library (the duplicate engine, a step's parameter), which the mapping answers
as internal errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from illudex.web import create_app
from illudex.web.background import BackgroundServer
from tests.web.conftest import CHANGE, SampleLibrary


@pytest.fixture(scope="module")
def server(shared_sample: SampleLibrary) -> Iterator[str]:
    with BackgroundServer(create_app(shared_sample.dir, resume=False)) as running:
        yield running.url


@pytest.fixture(scope="module")
def http(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, headers=CHANGE, timeout=60) as client:
        yield client


def ids(http: httpx.Client) -> list[int]:
    return http.get("/api/images/ids").json()["ids"]


@pytest.mark.parametrize("threshold", [2, "abc"])
def test_a_bad_dedupe_threshold_in_a_dataset_preview_is_a_400(
    http: httpx.Client, tmp_path: Path, threshold: object
) -> None:
    body = {"source": {"kind": "ids", "ids": ids(http)}, "sample": 100,
            "steps": [{"use": "dedupe", "params": {"threshold": threshold}}],
            "export": {"format": "kohya", "dir": str(tmp_path / "never")}}
    response = http.post("/api/datasets/preview", json=body)
    assert response.status_code == 400, response.text
    assert "threshold" in response.json()["error"], response.text
    assert "internal error" not in response.text


@pytest.mark.parametrize(("options", "words"), [
    ({"method": "kmeans", "params": {"no_such": 1}}, "unknown parameter(s) 'no_such'"),
    ({"method": "kmeans", "params": {"n_init": "many"}}, "'n_init' of method 'kmeans' must be"),
    ({"method": "hdbscan", "k": 4}, "finds the number of clusters itself"),
    ({"method": "no-such-method"}, "unknown method 'no-such-method'"),
])
def test_a_bad_cluster_option_is_a_400_with_its_reason(
    http: httpx.Client, options: dict, words: str
) -> None:
    response = http.post("/api/clusters", json={"ids": ids(http)[:4], **options})
    assert response.status_code == 400, response.text
    assert words in response.json()["error"], response.text


def test_a_picture_the_request_names_but_the_catalog_lacks_is_a_404(
    http: httpx.Client, tmp_path: Path
) -> None:
    keeper = http.post("/api/dupes/keeper", json={"keep": 987654})
    assert keeper.status_code == 404 and "no picture with id 987654" in keeper.json()["error"]
    unscanned = tmp_path / "never scanned.png"
    similar = http.get("/api/images", params={"q": f'similar:"{unscanned}"'})
    assert similar.status_code == 404, similar.text
    assert "not in the catalog" in similar.json()["error"]
