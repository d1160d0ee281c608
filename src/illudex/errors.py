"""The one error base: every exception illudex raises on purpose derives from `IlludexError`.

Its message (`str(e)`) is written for the person who ran the command or sent the request,
so the CLI prints it as one line and the web API returns it as the reason. The kinds below
say *what sort* of problem it is; the CLI and the web app map a kind to an exit code or an
HTTP status in one place each (`illudex.cli`, `illudex.web.app`). Anything else that
escapes is a bug: the CLI and the web app report it as an internal error (its traceback
in a log), never as the person's fault. A second base such as ValueError is kept only
where callers catch it (`catalog.embeddings.EmbeddingError`).

    raise NotFound(f"no picture with id {image_id} in the catalog")
"""

from __future__ import annotations


class IlludexError(Exception):
    """A problem illudex knows about, with a message meant for a person. Raised directly
    only for internal signals that never reach a person (a stop request, a dropped item);
    a problem a person reads is one of the kinds below."""


class InvalidInput(IlludexError):
    """The request itself cannot be carried out as given: a bad value, a query that does
    not parse, a spec that does not fit. Asking again unchanged fails again."""


class NotFound(IlludexError):
    """Something the request names does not exist (a picture id, a tag, a job)."""


class Conflict(IlludexError):
    """The request is well-formed but clashes with the current state: another job is
    running, a change would retag pictures and needs confirming, a file is in the way."""


class Unavailable(IlludexError):
    """Something the request needs is not here or cannot run: a model not downloaded, a
    device this machine lacks, an optional service that cannot be reached."""


class LibraryError(InvalidInput):
    """A request the library cannot carry out, with the reason in words (kept as its own
    name: callers and tests catch it)."""
