"""Engines: where the analysers run. The default is this machine's processes (the scan's
decode pool, the model runner's prefetching workers); `open_engine("ray", address)` runs
the same analysers as Ray Data stages on a Ray cluster (`illudex[ray]`).

An engine changes where the work runs, never what it computes or how it is stored: it
reads and decodes with the scan worker's and the model preprocessors' own functions, and
hands results to this process, which alone writes the catalog, in the same batches and
through the same functions as the local engine.
"""

from __future__ import annotations

from illudex.engines.base import Engine, ModelLoader, load_model
from illudex.errors import InvalidInput

__all__ = ["ENGINES", "Engine", "ModelLoader", "load_model", "open_engine"]

ENGINES = ("local", "ray")


def open_engine(kind: str, address: str | None = None) -> Engine | None:
    """The engine `kind` names (None: the local one); connects to Ray for "ray"."""
    if kind == "local":
        if address:
            raise InvalidInput("--ray-address needs --engine ray")
        return None
    if kind == "ray":
        from illudex.engines.rayengine import RayEngine

        return RayEngine.connect(address)
    raise InvalidInput(f"unknown engine {kind!r}: one of {', '.join(ENGINES)}")
