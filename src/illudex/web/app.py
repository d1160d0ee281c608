"""The illudex web app: REST API (OpenAPI at /docs) and the one-page web UI, both over
the same `Library` the CLI uses.

    app = create_app("~/.local/share/illudex", token=None)
    uvicorn.run(app, host="127.0.0.1", port=8765)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from illudex import __version__
from illudex.errors import Conflict, IlludexError, InvalidInput, NotFound, Unavailable
from illudex.library import Library
from illudex.web.deps import ServerState
from illudex.web.jobs import Job, JobManager
from illudex.web.routes import (
    clusters,
    datasets,
    dupes,
    history,
    images,
    jobs,
    modelapi,
    notices,
    search,
    tags,
    teach,
)
from illudex.web.security import (
    DEFAULT_UPLOAD_LIMIT,
    SecurityMiddleware,
    SecurityPolicy,
    check_bind,
    is_loopback,
)
from illudex.web.state import LibraryPool

WEB_DIR = Path(__file__).parent
# The HTTP status of each kind of project error (the first that matches); any other
# IlludexError is a request that cannot be done: 400.
STATUS_OF_KIND: tuple[tuple[type[IlludexError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    # A model, device or service this machine lacks: 409 as the API always answered it
    # (the request is fine; 503 would tell clients to retry it unchanged).
    (Unavailable, 409),
    (InvalidInput, 400),
)
log = logging.getLogger(__name__)
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")


def create_app(
    library_dir: str | Path | None = None,
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    upload_limit: int = DEFAULT_UPLOAD_LIMIT,
    resume: bool = True,
) -> FastAPI:
    """The app for the library at `library_dir` (default: the user's library). Jobs a
    stopped server left unfinished are re-run at start unless `resume` is False.

    Raises LibraryError when the library cannot be opened, InsecureBindError for a
    non-loopback `host` without a token.
    """
    check_bind(host, token)
    with Library.open(library_dir) as lib:  # fail now, with a clear message, if unusable
        directory = lib.dir
    state = ServerState(library_dir=directory, pool=LibraryPool(directory),
                        jobs=JobManager(directory))
    state.jobs.on_finish = lambda job: _after_job(state, job)
    for module in (jobs, datasets):  # the kinds that can be re-run from their parameters
        state.jobs.factories.update(module.resumable_kinds())

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        warm_up = threading.Thread(target=_warm_up, args=(state,), name="illudex-warm-up",
                                   daemon=True)
        warm_up.start()
        state.jobs.resume_interrupted(resume)
        yield
        await asyncio.to_thread(state.jobs.close, 10)  # running jobs: interrupted, resumable
        # Closing a connection the warm-up still uses crashes SQLite: let it finish first.
        await asyncio.to_thread(warm_up.join)
        state.pool.close()

    app = FastAPI(title="illudex", version=__version__, lifespan=lifespan,
                  description="Index folders of illustrations where they lie.")
    app.state.illudex = state
    for module in (images, dupes, history, tags, search, jobs, clusters, datasets, teach,
                   modelapi, notices):
        app.include_router(module.router)
    _add_pages(app)
    _add_error_handlers(app)
    app.add_middleware(
        SecurityMiddleware,
        policy=SecurityPolicy(token=token, loopback_only=is_loopback(host),
                              upload_limit=upload_limit,
                              upload_paths=frozenset({search.UPLOAD_PATH,
                                                      *modelapi.UPLOAD_PATHS})),
    )
    return app


def _warm_up(state: ServerState) -> None:
    """Build the search and tag-lookup caches before the first person waits for them."""
    try:
        with state.pool.use() as lib:
            lib.search("", limit=1)
            lib.tags.find("a", limit=1)
    except Exception:  # a cold cache is only slower: never stop the server for it
        logging.getLogger(__name__).exception("warming up the caches failed")


def _after_job(state: ServerState, job: Job) -> None:
    if job.kind in ("scan", "tag", "embed", "dataset"):  # a dataset's tag step tags
        state.catalog_changed()
        state.dupes.invalidate()


def _add_pages(app: FastAPI) -> None:
    templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
    modules = sorted(p.name for p in (WEB_DIR / "static" / "js").glob("*.js") if p.name != "app.js")
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> Response:
        response = templates.TemplateResponse(request, "index.html",
                                              {"version": __version__, "modules": modules})
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)


def status_of(error: IlludexError) -> int:
    """The HTTP status for a project error, by its kind."""
    return next((status for kind, status in STATUS_OF_KIND if isinstance(error, kind)), 400)


def _add_error_handlers(app: FastAPI) -> None:
    """Every error a request can end in, mapped here and nowhere else: project errors
    become a 4xx with their message; anything else is a bug, logged with its traceback
    on the server and answered with a 500 that shows no trace."""

    def error(status: int, message: Any) -> JSONResponse:
        return JSONResponse({"error": str(message)}, status_code=status)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, exc.detail)

    @app.exception_handler(IlludexError)
    async def project_error(_: Request, exc: IlludexError) -> JSONResponse:
        return error(status_of(exc), exc)

    @app.exception_handler(OverflowError)
    async def overflow_error(_: Request, exc: OverflowError) -> JSONResponse:
        # A number beyond what the catalog stores (SQLite integers are 64-bit): only a
        # request's number gets that far, as every count the code makes is far smaller.
        return error(400, f"a number in the request is too large ({exc})")

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        # A bug: the traceback goes to the server's log only; its text may name paths
        # and SQL, which a client has no business reading.
        log.error("internal error answering %s %s", request.method, request.url.path,
                  exc_info=exc)
        return error(500, f"internal error ({type(exc).__name__}); please report it "
                          "(the server's log has the details)")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors()[:5]:
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        return error(422, "; ".join(parts) or "invalid request")
