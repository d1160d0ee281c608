"""`--engine ray [--ray-address ADDR]`: the options of the commands that run analysers
(scan, tag, embed, dataset build), and choosing the engine for the run."""

from __future__ import annotations

from typing import Annotated

import typer

from illudex.library import Library

EngineOption = Annotated[str, typer.Option(
    "--engine", help="Where analysers run: local (this machine's processes) or ray "
                     "(a Ray cluster; pip install 'illudex[ray]').")]
RayAddressOption = Annotated[str | None, typer.Option(
    "--ray-address", envvar="RAY_ADDRESS", show_envvar=True,
    help="The Ray cluster (ray://HOST:10001, HOST:6379 or auto); default: start one here.")]


def use_engine(lib: Library, engine: str, address: str | None) -> None:
    """Run this command's analysers on `engine` (an unknown one, or Ray missing or out of
    reach, is an IlludexError: one line)."""
    from illudex.engines import open_engine

    if engine == "local" and address:  # RAY_ADDRESS in the environment alone is no choice
        address = None
    lib.limits.engine = open_engine(engine, address)
