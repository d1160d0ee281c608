"""What a decode worker process does with one file: read it once, hash it, decode it once,
and feed every per-image analyser from that decode.

Runs in worker processes, so everything here is picklable. The main process imports
this module for its types on every scan, even one with nothing to read, so the decoder
(Pillow, OpenCV) loads only where files are decoded: in the forkserver, from
WORKER_MODULES.
"""

from __future__ import annotations

import hashlib
import importlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from illudex.picturefiles import DEFAULT_MAX_PIXELS

if TYPE_CHECKING:
    from illudex.imageio import Decoded


@dataclass(frozen=True)
class Analyser:
    """A per-image analyser run in the decode workers: RGB picture in, bytes out."""

    name: str
    version: int
    # "package.module:function", imported where it runs: the main process, which only
    # needs the name and version to see what is stale, never loads the analyser's code.
    function: str
    # True: the function takes the whole `Decoded` (facts, and the unshrunk frame in
    # `full`), not just the reduced picture.
    takes_decoded: bool = False

    @property
    def module(self) -> str:
        return self.function.partition(":")[0]

    def extract(self, decoded: Decoded) -> bytes:
        module, _, name = self.function.partition(":")
        extract: Callable[[object], bytes] = getattr(importlib.import_module(module), name)
        return extract(decoded if self.takes_decoded else decoded.image)


@dataclass
class FileResult:
    path: str
    size: int
    mtime_ns: int
    digest: str | None = None
    width: int = 0
    height: int = 0
    format: str = ""
    mode: str = ""
    has_alpha: bool = False
    animated: bool = False
    n_frames: int = 1
    params: dict[str, str] = field(default_factory=dict)
    features: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class WorkerConfig:
    analysers: tuple[Analyser, ...]
    max_pixels: int = DEFAULT_MAX_PIXELS
    side: int = 512
    coarse: bool = True  # the duplicate features shrink to 128 px again: a box reduce will do


_config: WorkerConfig | None = None
DECODED_FACTS = ("width", "height", "format", "mode", "has_alpha", "animated", "n_frames", "params")


# What every decode worker imports: the forkserver loads it once, and workers fork with it.
# (The forkserver skips any it cannot import: pyspng is optional to the decode.)
WORKER_MODULES = ("illudex.scan.worker", "illudex.imageio", "cv2", "pyspng")


def init_worker(config: WorkerConfig) -> None:
    global _config
    _config = config
    import cv2

    # Workers already use every core between them; OpenCV's own threads would only contend.
    cv2.setNumThreads(1)
    # Workers are for decoding; a Ctrl-C is handled once, by the parent.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def process(task: tuple[str, int, int]) -> FileResult:
    assert _config is not None, "init_worker was not called"
    return process_file(task, _config)


def process_file(task: tuple[str, int, int], config: WorkerConfig) -> FileResult:
    path, size, mtime_ns = task
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return FileResult(path, size, mtime_ns, error="file vanished before it could be read")
    except OSError as e:
        return FileResult(path, size, mtime_ns, error=f"cannot read file: {e.strerror or e}")
    return process_bytes(task, data, config)


def process_bytes(task: tuple[str, int, int], data: bytes, config: WorkerConfig) -> FileResult:
    """Hash, decode and analyse a file's bytes read elsewhere (by `process_file`, or by
    another engine's read stage: illudex.engines)."""
    from illudex.imageio import DecodeError, decode_file

    path, size, mtime_ns = task
    result = FileResult(path=path, size=size, mtime_ns=mtime_ns)
    if not data:
        result.error = "empty file (0 bytes)"
        return result
    result.digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    result.size = len(data)
    try:
        decoded = decode_file(
            io.BytesIO(data), path, side=config.side, max_pixels=config.max_pixels,
            coarse=config.coarse, keep_full=any(a.takes_decoded for a in config.analysers),
        )
    except DecodeError as e:
        result.error = str(e)
        return result
    for name in DECODED_FACTS:
        setattr(result, name, getattr(decoded, name))
    for analyser in config.analysers:
        try:
            result.features[analyser.name] = (analyser.version, analyser.extract(decoded))
        except Exception as e:  # one analyser's failure must not lose the file's other data
            result.error = f"analyser {analyser.name} failed: {type(e).__name__}: {e}"
    return result
