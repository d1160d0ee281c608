"""A polite HTTP client for boorus: one request at a time, at most `rate` a second,
retries with exponential backoff on 429, 5xx, dropped connections, garbage and truncated
bodies (a `Retry-After` answer is honoured), and a User-Agent that names illudex.

Boorus ask API clients to identify themselves and to stay slow (Danbooru answers 429
beyond its per-account rate); being slow by default costs a dataset build seconds and
spares the user a ban.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from illudex import __version__
from illudex.errors import IlludexError, Unavailable

T = TypeVar("T")
SECRET_PARAMS = frozenset({"api_key", "login", "user_id", "password_hash"})
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})


def user_agent() -> str:
    return f"illudex/{__version__} (dataset builder; +https://pypi.org/project/illudex/)"


class FetchError(Unavailable):
    """A request that failed for good (after its retries, or one not worth retrying)."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused  # the server said no (401, 403, 404, 422): no use asking again


class RetryableError(Unavailable):
    """A body that came back wrong (garbage JSON, short, wrong md5): worth asking again."""


@dataclass
class Politeness:
    rate: float = 1.0  # requests a second, to the booru and its file server together
    retries: int = 5  # tries after the first
    backoff: float = 1.0  # seconds before the first retry, doubled after each
    max_wait: float = 120.0  # longest wait we accept, Retry-After included
    timeout: float = 60.0  # seconds without a byte before a request fails


class PoliteClient:
    def __init__(
        self,
        politeness: Politeness | None = None,
        *,
        auth: tuple[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.politeness = politeness or Politeness()
        self._sleep = sleep
        self._params = dict(params or {})  # sent with every API request (credentials)
        self._next = 0.0  # time.monotonic() when the next request may start
        self.requests = 0
        self._client = httpx.Client(
            headers={"User-Agent": user_agent()}, timeout=self.politeness.timeout,
            follow_redirects=True, auth=auth,
        )

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, params: Mapping[str, Any], check: Callable[[bytes], T]) -> T:
        """`check(body)` of a GET, retried while the answer is transient or `check` raises
        RetryableError; FetchError (with the URL, secrets left out) once it gives up."""

        def once() -> T:
            response = self._send(url, {**params, **self._params})
            return check(response.content)

        return self._retrying(display_url(url, params), once)

    def download(self, url: str, dest: Path, md5: str | None) -> int:
        """Stream `url` into `dest` (overwritten), checking length and md5; returns the
        byte count. `dest` is a part file: the caller renames it once this returns."""

        def once() -> int:
            self._wait_turn()
            digest, size = hashlib.md5(usedforsecurity=False), 0
            with self._client.stream("GET", url) as response:
                _raise_for_status(response)
                with open(dest, "wb") as f:
                    for chunk in response.iter_bytes():
                        f.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                    f.flush()
                    os.fsync(f.fileno())
                expected = response.headers.get("Content-Length")
            if expected is not None and expected.isdigit() and int(expected) != size:
                raise RetryableError(f"truncated: {size} of {expected} bytes")
            if md5 is not None and digest.hexdigest() != md5:
                raise RetryableError(f"md5 {digest.hexdigest()} is not the post's {md5}")
            if size == 0:
                raise RetryableError("empty file")
            return size

        return self._retrying(url, once)

    def _send(self, url: str, params: Mapping[str, Any]) -> httpx.Response:
        self._wait_turn()
        response = self._client.get(url, params=dict(params))
        _raise_for_status(response)
        return response

    def _wait_turn(self) -> None:
        """Keep at least 1/rate seconds between the starts of two requests."""
        now = time.monotonic()
        if self._next > now:
            self._sleep(self._next - now)
        rate = self.politeness.rate
        self._next = time.monotonic() + (1.0 / rate if rate > 0 else 0.0)
        self.requests += 1

    def _retrying(self, shown: str, once: Callable[[], T]) -> T:
        p = self.politeness
        for attempt in range(p.retries + 1):
            try:
                return once()
            except _Transient as e:
                if attempt == p.retries:
                    raise FetchError(f"{shown}: {e.reason} (gave up after {attempt + 1} tries)"
                                     ) from None
                wait = max(e.retry_after or 0.0, p.backoff * 2**attempt)
                if wait > p.max_wait:
                    raise FetchError(f"{shown}: {e.reason}; asked to wait {wait:.0f} s, "
                                     f"longer than {p.max_wait:.0f} s") from None
                self._sleep(wait)
            except (httpx.TransportError, RetryableError) as e:
                if attempt == p.retries:
                    raise FetchError(f"{shown}: {_describe(e)} "
                                     f"(gave up after {attempt + 1} tries)") from None
                self._sleep(p.backoff * 2**attempt)
            except _Refused as e:
                raise FetchError(f"{shown}: {e.reason}", refused=True) from None
        raise AssertionError("unreachable")


class _Transient(IlludexError):
    def __init__(self, reason: str, retry_after: float | None) -> None:
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


class _Refused(IlludexError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _raise_for_status(response: httpx.Response) -> None:
    code = response.status_code
    if code < 400:
        return
    reason = f"HTTP {code} {response.reason_phrase}".strip()
    if code in RETRY_STATUS:
        raise _Transient(reason, retry_after(response.headers.get("Retry-After")))
    if code in (401, 403):
        reason += " (check the login / API key in the environment)"
    raise _Refused(reason + _message(response))


def _message(response: httpx.Response) -> str:
    """The booru's own words on a refusal (Danbooru: {"success": false, "message": ...})."""
    try:
        data = json.loads(response.read()[:4096])
    except (httpx.HTTPError, ValueError):
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    return f": {str(message)[:200]}" if message else ""


def retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def display_url(url: str, params: Mapping[str, Any]) -> str:
    """`url` with its query, secrets left out: for errors and logs."""
    shown = "&".join(f"{k}={v}" for k, v in params.items() if k not in SECRET_PARAMS)
    return f"{url}?{shown}" if shown else url


def _describe(error: BaseException) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"timed out ({error.__class__.__name__})"
    if isinstance(error, httpx.TransportError):
        return f"connection failed ({error.__class__.__name__}: {error})"
    return str(error)
