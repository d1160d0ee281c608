"""A small booru on 127.0.0.1 for tests: Danbooru's `/posts.json` and the Gelbooru /
Safebooru `index.php?page=dapi` answers in the real APIs' JSON shapes (see
`illudex.dataset.booru_api` for the sources of those shapes), and files to download.

It can be told to fail the next requests of a target ("api", or a post id for its file):

    booru.fail("api", "429", "500", "garbage")   # three bad answers, then normal ones
    booru.fail(3, "truncate", "corrupt", "drop")
    booru.fail(4, "stall")                       # half the file, then silence (kill tests)

Modes: "429" (Retry-After: 0) or "429:N" (Retry-After: N), "500", "404", "garbage" (an
HTML page with status 200), "truncate" (half the body, the full Content-Length, then the
connection closes), "corrupt" (a full body of wrong bytes: the md5 differs), "drop" (the
connection closes without an answer), "stall" (half the body, then 60 s of silence; sets
`stalled`).
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from PIL import Image

LETTER = {"general": "g", "sensitive": "s", "questionable": "q", "explicit": "e"}


@dataclass
class FakePost:
    id: int
    data: bytes
    ext: str = "png"
    tags: dict[str, list[str]] = field(default_factory=dict)  # category -> names
    rating: str = "general"  # the long name; Danbooru answers its letter
    source: str = ""

    @property
    def md5(self) -> str:
        return hashlib.md5(self.data).hexdigest()

    def all_tags(self) -> list[str]:
        return [t for names in self.tags.values() for t in names]


def noise_png(seed: int, side: int = 48) -> bytes:
    """A small PNG of seeded noise: every seed a different picture."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


class FakeBooru:
    def __init__(self, kind: str, posts: list[FakePost], *, page_max: int = 1000,
                 auth: dict[str, str] | None = None) -> None:
        self.kind = kind  # danbooru | gelbooru | safebooru
        self.posts = posts
        self.page_max = page_max  # the server's own cap on `limit`, as real boorus have
        self.auth = auth  # query parameters (or {"basic": "login:key"}) a request must carry
        self.hits: Counter[str] = Counter()  # "api" or post id as text -> requests
        self.log: list[dict[str, Any]] = []  # every request: time, target, path, headers
        self.stalled = threading.Event()
        self._failures: dict[str, deque[str]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeBooru:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, target: str | int, *modes: str) -> None:
        with self._lock:
            self._failures.setdefault(str(target), deque()).extend(modes)

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def next_failure(self, target: str) -> str | None:
        with self._lock:
            queue = self._failures.get(target)
            return queue.popleft() if queue else None

    def file_path(self, post: FakePost) -> str:
        md5 = post.md5
        top = "data" if self.kind == "danbooru" else "images"
        return f"/{top}/{md5[:2]}/{md5[2:4]}/{md5}.{post.ext}"

    # --- the API answers ------------------------------------------------------------

    def search(self, tags: str) -> list[FakePost]:
        wanted = tags.split()
        out = []
        for post in sorted(self.posts, key=lambda p: -p.id):  # newest first, as boorus do
            names = set(post.all_tags())
            plain = [t for t in wanted if not t.startswith(("rating:", "id:<", "order:"))]
            ratings = [t.split(":", 1)[1] for t in wanted if t.startswith("rating:")]
            below = [int(t[4:]) for t in wanted if t.startswith("id:<")]
            if all(t in names for t in plain) and all(
                r in (post.rating, LETTER[post.rating]) for r in ratings
            ) and all(post.id < b for b in below):
                out.append(post)
        return out

    def page(self, query: dict[str, str]) -> bytes:
        limit = min(int(query.get("limit", "20")), self.page_max)
        found = self.search(query.get("tags", ""))
        page = query.get("page", "1")
        if self.kind == "danbooru" and page.startswith("b"):  # posts older than an id
            found = [p for p in found if p.id < int(page[1:])]
            start = 0
        elif self.kind == "danbooru":
            start = (int(page) - 1) * limit
        else:
            start = int(query.get("pid", "0")) * limit
        chosen = found[start : start + limit]
        if self.kind == "danbooru":
            return json.dumps([self._danbooru(p) for p in chosen]).encode()
        if self.kind == "gelbooru":
            wrapper: dict[str, Any] = {"@attributes": {"limit": limit, "offset": start,
                                                       "count": len(found)}}
            if chosen:
                wrapper["post"] = [self._gelbooru(p) for p in chosen]
            return json.dumps(wrapper).encode()
        return json.dumps([self._safebooru(p) for p in chosen]).encode() if chosen else b""

    def _danbooru(self, p: FakePost) -> dict[str, Any]:
        w, h = _size(p.data)
        item: dict[str, Any] = {
            "id": p.id, "md5": p.md5, "file_ext": p.ext, "rating": LETTER[p.rating],
            "source": p.source, "image_width": w, "image_height": h, "score": 3,
            "tag_string": " ".join(p.all_tags()), "file_url": self.url + self.file_path(p),
            "large_file_url": self.url + self.file_path(p), "is_deleted": False,
        }
        for category in ("general", "character", "copyright", "artist", "meta"):
            item[f"tag_string_{category}"] = " ".join(p.tags.get(category, []))
        return item

    def _gelbooru(self, p: FakePost) -> dict[str, Any]:
        w, h = _size(p.data)
        return {"id": p.id, "md5": p.md5, "file_url": self.url + self.file_path(p),
                "tags": " ".join(p.all_tags()), "rating": p.rating, "source": p.source,
                "width": w, "height": h, "directory": p.md5[:2] + "/" + p.md5[2:4],
                "image": f"{p.md5}.{p.ext}", "score": 3, "owner": "someone"}

    def _safebooru(self, p: FakePost) -> dict[str, Any]:
        w, h = _size(p.data)
        return {"id": p.id, "hash": p.md5, "directory": p.md5[:2] + "/" + p.md5[2:4],
                "image": f"{p.md5}.{p.ext}", "tags": " ".join(p.all_tags()),
                "rating": "safe" if p.rating == "general" else p.rating,
                "width": w, "height": h, "score": None, "owner": "someone"}


def _size(data: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except OSError:  # a post whose file is not a picture at all
        return 0, 0


def _handler(booru: FakeBooru) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet test output
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            post = next((p for p in booru.posts if booru.file_path(p) == parts.path), None)
            target = "api" if post is None else str(post.id)
            booru.hits[target] += 1
            booru.log.append({"time": time.monotonic(), "target": target, "path": self.path,
                              "headers": dict(self.headers)})
            mode = booru.next_failure(target)
            if mode is not None and self._fail(mode, post):
                return
            if post is not None:
                self._send(200, post.data, "image/png")
            elif parts.path in ("/posts.json", "/index.php"):
                if not self._authorised(query):
                    self._send(401, b'{"success": false, "message": "login required"}',
                               "application/json")
                    return
                self._send(200, booru.page(query), "application/json")
            else:
                self._send(404, b"not found", "text/plain")

        def _authorised(self, query: dict[str, str]) -> bool:
            if booru.auth is None:
                return True
            if "basic" in booru.auth:
                import base64

                sent = self.headers.get("Authorization", "")
                return sent == "Basic " + base64.b64encode(booru.auth["basic"].encode()).decode()
            return all(query.get(k) == v for k, v in booru.auth.items())

        def _fail(self, mode: str, post: FakePost | None) -> bool:
            body = post.data if post is not None else b"[]"
            if mode.startswith("429"):
                _, _, wait = mode.partition(":")
                self._send(429, b"slow down", "text/plain", {"Retry-After": wait or "0"})
            elif mode.isdigit():
                self._send(int(mode), b"oops", "text/plain")
            elif mode == "garbage":
                self._send(200, b"<html><body>Just a moment...</body></html>", "text/html")
            elif mode == "corrupt":
                self._send(200, bytes(len(body)), "image/png")
            elif mode == "truncate":
                self._head(200, "image/png", len(body))
                self.wfile.write(body[: len(body) // 2])
            elif mode == "drop":
                pass  # the connection closes with no answer at all
            elif mode == "stall":
                self._head(200, "image/png", len(body))
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                booru.stalled.set()
                time.sleep(60)
            else:
                return False
            self.close_connection = True
            return True

        def _head(self, code: int, ctype: str, length: int,
                  extra: dict[str, str] | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(length))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()

        def _send(self, code: int, body: bytes, ctype: str,
                  extra: dict[str, str] | None = None) -> None:
            self._head(code, ctype, len(body), extra)
            self.wfile.write(body)

    return Handler


def sample_posts(n: int = 3, start: int = 1) -> list[FakePost]:
    """Posts with every tag category, ratings general/sensitive in turn, distinct pictures."""
    return [
        FakePost(
            id=i, data=noise_png(i),
            tags={"general": ["1girl", "solo", f"thing_{i}"], "character": ["surtr_(arknights)"],
                  "copyright": ["arknights"], "artist": [f"artist_{i}"], "meta": ["highres"]},
            rating="general" if i % 2 else "sensitive", source=f"https://example.org/{i}",
        )
        for i in range(start, start + n)
    ]
