"""`illudex serve`: the web UI and REST API on this machine (127.0.0.1 by default)."""

from __future__ import annotations

import errno
import socket
from typing import Annotated

import typer

from illudex.cli.common import LibraryOption, console, fail
from illudex.library import LibraryError

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
) -> None:
    """Serve the web UI and the REST API (docs at /docs) for the library."""
    import uvicorn  # only this command needs the server stack

    from illudex.web import InsecureBindError, check_token, create_app

    try:
        if token:
            check_token(token)
        app = create_app(library, token=token, host=host,
                         upload_limit=upload_limit_mb * 1024 * 1024)
    except (InsecureBindError, LibraryError) as e:
        fail(str(e))
        return
    sock = _bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/"
    console.print(f"illudex is at [bold]{url}{'?token=' + token if token else ''}[/bold] "
                  "(Ctrl+C stops it)", highlight=False, soft_wrap=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


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
