"""Who may talk to the server, and how: host check, token, cross-site and body-size guards.

One ASGI middleware in front of every route (pages, static files and API alike):

- Host: when bound to loopback, only loopback host names are answered (a web page on
  another site cannot reach the server by rebinding its own DNS name to 127.0.0.1).
- Token (optional; required off loopback): `Authorization: Bearer T`, `X-Illudex-Token: T`,
  or the `illudex_token` cookie; opening any page with `?token=T` sets that cookie
  (SameSite=Strict, HttpOnly) and redirects to the same page without the token.
- Mutations (every method but GET/HEAD/OPTIONS): need the `X-Illudex: 1` header (which a
  cross-site form cannot send, and cross-site fetch cannot send without a CORS preflight
  this server never grants), an Origin and Sec-Fetch-Site that say same-origin when
  present, a JSON body (uploads: a picture's raw bytes), and a body within the limit.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.exceptions import HTTPException

from illudex.errors import InvalidInput

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSRF_HEADER = "x-illudex"
TOKEN_HEADER = "x-illudex-token"
TOKEN_COOKIE = "illudex_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
JSON_BODY_LIMIT = 4 * 1024 * 1024
DEFAULT_UPLOAD_LIMIT = 32 * 1024 * 1024
TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]+")


class InsecureBindError(InvalidInput):
    """A bind address that would expose the library without a token."""


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_token(token: str) -> str:
    """A token must survive a URL and a cookie unchanged."""
    if len(token) < 8 or not TOKEN_CHARS.fullmatch(token):
        raise InsecureBindError(
            "a token needs at least 8 characters from A-Z a-z 0-9 . _ ~ - "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe())')"
        )
    return token


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve the library beyond this machine without a token."""
    if not is_loopback(host) and not token:
        raise InsecureBindError(
            f"--host {host} would let other machines reach your library: set a token with "
            "--token (or ILLUDEX_TOKEN), or bind to 127.0.0.1"
        )


@dataclass(frozen=True)
class SecurityPolicy:
    token: str | None = None
    loopback_only: bool = True  # answer only requests addressed to a loopback name
    upload_limit: int = DEFAULT_UPLOAD_LIMIT
    json_limit: int = JSON_BODY_LIMIT
    upload_paths: frozenset[str] = field(default_factory=frozenset)


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, policy: SecurityPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            status, message = refusal
            await _send_error(send, status, message, _wants_html(scope, headers))
            return
        if self.policy.token and _query_token(scope) is not None:
            await _redirect_setting_cookie(scope, send, self.policy.token)
            return
        limit = self._body_limit(scope)
        await self.app(scope, _limited(receive, limit), send)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if self.policy.loopback_only and not is_loopback(_hostname(host)):
            return 421, f"this server answers only on loopback addresses, not {host!r}"
        if self.policy.token and not self._authorised(scope, headers):
            return 401, ("a token is required: open the address printed by `illudex serve` "
                         "(it ends in ?token=...) or send Authorization: Bearer TOKEN")
        if scope["method"] in SAFE_METHODS:
            return None
        return self._mutation_refusal(scope, headers)

    def _authorised(self, scope: Scope, headers: dict[str, str]) -> bool:
        token = self.policy.token or ""
        offered = [_query_token(scope), headers.get(TOKEN_HEADER), _cookie(headers, TOKEN_COOKIE)]
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            offered.append(auth[7:].strip())
        return any(o is not None and hmac.compare_digest(o.encode(), token.encode())
                   for o in offered)

    def _mutation_refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        if headers.get(CSRF_HEADER) != "1":
            return 403, "cross-site request refused: changes need the header X-Illudex: 1"
        origin = headers.get("origin")
        if origin is not None and not _same_origin(origin, scope, headers.get("host", "")):
            return 403, f"cross-site request refused: Origin {origin!r} is not this server"
        if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return 403, "cross-site request refused (Sec-Fetch-Site)"
        length = headers.get("content-length")
        if length is None:
            if headers.get("transfer-encoding"):
                return 411, "send a Content-Length with the body"
            return None
        if not length.isdigit():
            return 400, "bad Content-Length"
        limit = self._body_limit(scope)
        if int(length) > limit:
            return 413, f"request body of {int(length):,} bytes is over the limit of {limit:,}"
        if int(length) == 0:
            return None
        return _content_type_refusal(headers.get("content-type", ""),
                                     scope["path"] in self.policy.upload_paths)

    def _body_limit(self, scope: Scope) -> int:
        if scope["path"] in self.policy.upload_paths:
            return self.policy.upload_limit
        return self.policy.json_limit


def _content_type_refusal(content_type: str, upload: bool) -> tuple[int, str] | None:
    kind = content_type.split(";")[0].strip().lower()
    if upload:
        if kind.startswith("image/") or kind == "application/octet-stream":
            return None
        return 415, "send the picture's bytes as the body (Content-Type: image/...)"
    if kind == "application/json":
        return None
    return 415, "send JSON (Content-Type: application/json)"


def _limited(receive: Receive, limit: int) -> Receive:
    """Count body bytes as they arrive: a body without Content-Length can't pass the limit."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, f"request body over the limit of {limit:,} bytes")
        return message

    return wrapped


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:].split("]")[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _same_origin(origin: str, scope: Scope, host: str) -> bool:
    scheme = scope.get("scheme", "http")
    return origin.lower() == f"{scheme}://{host}".lower()


def _cookie(headers: dict[str, str], name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _query_token(scope: Scope) -> str | None:
    for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
        if key == "token":
            return value
    return None


def _wants_html(scope: Scope, headers: dict[str, str]) -> bool:
    return not scope["path"].startswith("/api/") and "text/html" in headers.get("accept", "")


async def _send_error(send: Send, status: int, message: str, html: bool) -> None:
    if html:
        body = (f"<!doctype html><meta charset=utf-8><title>illudex</title>"
                f"<p style='font:16px sans-serif;margin:2em'>{_escape(message)}</p>").encode()
        kind = b"text/html; charset=utf-8"
    else:
        body = json.dumps({"error": message}).encode()
        kind = b"application/json"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


async def _redirect_setting_cookie(scope: Scope, send: Send, token: str) -> None:
    rest = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"))
            if k != "token"]
    # One leading slash only: `//host/...` would send the browser to another site.
    path = quote("/" + scope["path"].lstrip("/\\"), safe="/:@!$&'()*+,;=-._~")  # ASCII
    location = path + (f"?{urlencode(rest)}" if rest else "")
    cookie = f"{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode("latin-1")),
                            (b"set-cookie", cookie.encode("latin-1")),
                            (b"content-length", b"0"), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": b""})


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
