"""`illudex serve`: refuses to expose a library without a token, and really serves."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from illudex.cli import app
from tests.web.conftest import SampleLibrary


def test_refuses_other_hosts_without_a_token(shared_sample: SampleLibrary) -> None:
    # Through the real `illudex` app: its one error mapping turns the refusal into a line.
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--library",
                                      str(shared_sample.dir)], env={"ILLUDEX_TOKEN": ""})
    assert result.exit_code == 1
    assert "--token" in result.output
    weak = CliRunner().invoke(app, ["serve", "--token", "abc", "--library",
                                    str(shared_sample.dir)])
    assert weak.exit_code == 1 and "at least 8 characters" in weak.output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serves_the_library_until_stopped(shared_sample: SampleLibrary) -> None:
    port = free_port()
    code = ("import sys, typer; from illudex.cli.serve import serve_command; "
            "app = typer.Typer(); app.command()(serve_command); app(sys.argv[1:])")
    env = {**os.environ, "ILLUDEX_TOKEN": "token-for-serve-test"}
    server = subprocess.Popen(
        [sys.executable, "-c", code, "--port", str(port), "--library", str(shared_sample.dir)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=Path(__file__).resolve().parents[2])
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"{url}/api/images", headers={
                    "Authorization": "Bearer token-for-serve-test"})
                break
            except httpx.ConnectError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
                time.sleep(0.2)
        assert response.status_code == 200 and response.json()["total"] > 0
        assert httpx.get(f"{url}/api/images").status_code == 401
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert f"{url}/?token=token-for-serve-test" in output
