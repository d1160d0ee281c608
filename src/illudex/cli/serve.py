"""`illudex serve`: the web UI and REST API on this machine (127.0.0.1 by default)."""

from __future__ import annotations

import errno
import socket
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from illudex.cli.common import LibraryOption, console, existing_path, fail
from illudex.cli.watch import (
    MaxModelsOption,
    ModelIdleOption,
    setup_logging,
    watch_in_background,
)

ENV_TOKEN = "ILLUDEX_TOKEN"


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8765,
    token: Annotated[str | None, typer.Option(
        envvar=ENV_TOKEN, show_envvar=True,
        help="Require this token for everything (needed off 127.0.0.1).",
    )] = None,
    library: LibraryOption = None,
    upload_limit_mb: Annotated[int, typer.Option(
        min=1, max=1024, help="Largest picture accepted for search by picture (MB).")] = 32,
    watch: Annotated[list[Path] | None, typer.Option(
        "--watch", parser=existing_path,
        help="Also watch this folder (repeatable): changes are indexed as they happen.")
    ] = None,
    model_idle: ModelIdleOption = 300.0,
    max_models: MaxModelsOption = 0,
    resume: Annotated[bool, typer.Option(
        "--resume/--no-resume",
        help="Run again the jobs a stopped server left unfinished (scan, tag, embed, dataset).")
    ] = True,
) -> None:
    """Serve the web UI and the REST API (docs at /docs) for the library."""
    import uvicorn  # only this command needs the server stack

    from illudex.web import check_token, create_app

    if token:
        check_token(token)
    app = create_app(library, token=token, host=host,
                     upload_limit=upload_limit_mb * 1024 * 1024, resume=resume)
    sock = _bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/"
    console.print(f"illudex is at [bold]{url}{'?token=' + token if token else ''}[/bold] "
                  "(Ctrl+C stops it)", highlight=False, soft_wrap=True)
    stop = _start_background(app, watch or [], model_idle, max_models)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        stop.set()


def _start_background(app: Any, watch: list[Path], model_idle: float, max_models: int
                      ) -> threading.Event:
    """Models released when idle; with --watch, a watcher thread. Returns its stop event."""
    from illudex.models.pool import shared

    pool = shared()
    pool.configure(idle_s=model_idle, max_models=max_models)
    pool.start_reaper()
    stop = threading.Event()
    if watch:
        state = app.state.illudex
        setup_logging(None)

        def changed() -> None:
            state.catalog_changed()
            state.dupes.invalidate()

        watch_in_background(state.library_dir, watch, stop, on_change=changed)
    return stop


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            fail(f"port {port} on {host} is taken: choose another with --port")
        fail(f"cannot listen on {host}:{port}: {e.strerror or e}")
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
