"""The web app maps errors in one place (illudex.web.app), against a real server on a real
socket: a project error becomes a 4xx by its kind with its message; anything else is a
bug, answered 500 with no trace or message in the body and logged with its traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from illudex.errors import Conflict, IlludexError, InvalidInput, NotFound, Unavailable
from illudex.library import LibraryError
from illudex.models.errors import ModelUnavailable
from illudex.web import create_app
from illudex.web.background import BackgroundServer
from tests.web.conftest import SampleLibrary

SECRET = "/home/someone/private/catalog.db: SELECT * FROM images"  # what a bug might say
RAISED: dict[str, Exception] = {
    "not-found": NotFound("no picture with id 7 in the catalog"),
    "conflict": Conflict("job 3 (scan) is still running"),
    "unavailable": Unavailable("model 'x' is not on this machine"),
    "model": ModelUnavailable("download the model first"),
    "invalid": InvalidInput("a query that does not parse"),
    "library": LibraryError("nothing to export: those clusters hold no pictures"),
    "plain-project": IlludexError("a project error of no kind"),
    "value-bug": ValueError(SECRET),
    "key-bug": KeyError(SECRET),
}


def add_raising_routes(app: FastAPI) -> None:
    """Routes that raise what `RAISED` names: the app's own handlers answer them."""

    @app.get("/api/test-raise/{name}")
    def raise_it(name: str) -> None:
        raise RAISED[name]


@pytest.fixture(scope="module")
def server(shared_sample: SampleLibrary) -> Iterator[str]:
    app = create_app(shared_sample.dir, resume=False)
    add_raising_routes(app)
    with BackgroundServer(app) as running:
        yield running.url


@pytest.mark.parametrize(("name", "status"), [
    ("not-found", 404), ("conflict", 409), ("unavailable", 409), ("model", 409),
    ("invalid", 400), ("library", 400), ("plain-project", 400),
])
def test_project_errors_answer_by_kind_with_their_message(server: str, name: str,
                                                          status: int) -> None:
    response = httpx.get(f"{server}api/test-raise/{name}")
    assert response.status_code == status
    assert response.json() == {"error": str(RAISED[name])}


@pytest.mark.parametrize("name", ["value-bug", "key-bug"])
def test_a_bug_is_a_500_without_its_trace_and_is_logged(
    server: str, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="illudex.web.app"):
        response = httpx.get(f"{server}api/test-raise/{name}")
    assert response.status_code == 500  # a plain ValueError was a 400 before issue 11
    body = response.text
    assert "internal error" in response.json()["error"]
    for leak in ("Traceback", "private", "SELECT", 'File "', "raise_it"):
        assert leak not in body, body
    logged = [r for r in caplog.records if r.name == "illudex.web.app"]
    assert logged and logged[-1].exc_info is not None  # the traceback, server-side
    assert "/api/test-raise/" in logged[-1].getMessage()


def test_real_routes_still_refuse_bad_input_with_a_4xx(server: str) -> None:
    unknown = httpx.get(f"{server}api/images/987654321")
    assert unknown.status_code == 404 and unknown.json()["error"]
    query = httpx.get(f"{server}api/images", params={"q": "(a"})
    assert query.status_code == 400 and "query" in query.json()["error"]
