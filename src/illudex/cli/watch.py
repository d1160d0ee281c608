"""`illudex watch PATH…`: index folders as they change, and follow up on new pictures."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from illudex.cli.common import LibraryOption, fail, open_library, paths_argument

MIN_SETTLE_S = 0.6  # illudex.watch.service.MIN_SETTLE_S; not imported: watchdog loads late
ModelIdleOption = Annotated[float, typer.Option(
    "--model-idle", min=0, max=10**7,
    help="Release a model unused for this many seconds (0: keep it loaded).")]
MaxModelsOption = Annotated[int, typer.Option(
    "--max-models", min=0, max=1000,
    help="Keep at most this many models loaded, least recently used out first (0: no limit).")]


def watch_command(
    paths: Annotated[list[Path], paths_argument("Folders to watch (they are indexed first).")],
    tag: Annotated[str | None, typer.Option(
        "--tag", metavar="MODEL", help="Tag each new picture with this tagger.")] = None,
    embed: Annotated[str | None, typer.Option(
        "--embed", metavar="MODEL", help="Embed each new picture with this CLIP model.")] = None,
    dupes: Annotated[bool, typer.Option(
        "--dupes", help="Check each new picture against the collection; log a notice per "
                        "new duplicate (shown in the web UI).")] = False,
    log_file: Annotated[Path | None, typer.Option(
        "--log-file", help="Also append the log to this file.")] = None,
    settle: Annotated[float, typer.Option(
        min=MIN_SETTLE_S, max=3600,
        help="Seconds a changed file must stay still before it is read.")
    ] = 2.0,
    rescan: Annotated[float, typer.Option(
        min=0, max=10**7, help="Full rescan every this many seconds, for network folders "
                               "that send no events (0: never).")] = 300.0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda | tensorrt")] = "auto",
    model_idle: ModelIdleOption = 300.0,
    max_models: MaxModelsOption = 0,
    library: LibraryOption = None,
) -> None:
    """Watch folders: new, changed, moved and deleted pictures are indexed within seconds.
    Stops cleanly on Ctrl+C or SIGTERM; after a crash, the next start catches up."""
    from illudex.models.pool import shared
    from illudex.watch import FollowUps, Watcher, WatchOptions

    for path in paths:
        if not path.expanduser().is_dir():
            fail(f"{path}: not a folder (watch takes folders)", code=2)
    setup_logging(log_file)
    options = WatchOptions(settle_s=settle, rescan_s=rescan,
                           followups=FollowUps(tag, embed, dupes, device))
    pool = shared()
    pool.configure(idle_s=model_idle, max_models=max_models)
    pool.start_reaper()
    signal.signal(signal.SIGTERM, _interrupt)
    with open_library(library) as lib:
        watcher = Watcher(lib, [str(p.expanduser()) for p in paths], options)
        logging.getLogger("illudex.watch").info(
            "starting on %s (library %s)", ", ".join(watcher.roots), lib.dir)
        try:
            watcher.run(threading.Event())
        except KeyboardInterrupt:
            pass  # run() logged its summary on the way out
        finally:
            pool.stop_reaper()


def watch_in_background(library_dir: Path, paths: list[Path], stop: threading.Event,
                        on_change: Callable[[], None] | None = None) -> threading.Thread:
    """`serve --watch`: a watcher thread with a library connection of its own."""
    from illudex.library import Library
    from illudex.watch import FollowUps, Watcher, WatchOptions

    # In the web UI a new duplicate is worth a notice; tagging stays a job people start.
    options = WatchOptions(followups=FollowUps(dupes=True))

    def run() -> None:
        with Library.open(library_dir) as lib:
            watcher = Watcher(lib, [str(p.expanduser()) for p in paths], options,
                              on_change=on_change)
            try:
                watcher.run(stop)
            except Exception:  # the server goes on without it; the log says why
                logging.getLogger("illudex.watch").exception("the watcher stopped")

    thread = threading.Thread(target=run, name="illudex-watch", daemon=True)
    thread.start()
    return thread


def setup_logging(log_file: Path | None) -> None:
    """Timestamped lines on stderr, and in `log_file` when given (for a user service)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        try:
            log_file.expanduser().parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.FileHandler(log_file.expanduser(), encoding="utf-8"))
        except OSError as e:
            fail(f"cannot write the log file {log_file}: {e.strerror or e}")
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    logger = logging.getLogger("illudex")
    for handler in handlers:
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM ends the watcher the way Ctrl+C does: a scan stops between files, committed
    # work is kept, and the next start resumes (the scan is built for KeyboardInterrupt).
    # A second SIGTERM must not break the clean-up the first one started.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt
