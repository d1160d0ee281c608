"""The two booru APIs as data: the URL of a result page and the posts in its JSON.

Shapes, as documented by the sites and read by other clients (facts checked against
public sources: the Danbooru post types in Vonagre213-RD/Danbooru_Images_Bulk_Downloader
`src/types/postType.d.ts` and leonidboykov/getmoe `board/danbooru/post.go`; Gelbooru's
`{"@attributes": {limit, offset, count}, "post": [...]}` wrapper and Safebooru's bare
list with `directory`/`image`/`hash` in the koishi image-source types and
gelbooru.com's `index.php?page=help&topic=dapi`):

- Danbooru `GET /posts.json?tags=T&limit=N&page=P` (page from 1, limit up to 200): a
  list of posts with `id`, `md5`, `file_url`, `file_ext`, `rating` (g/s/q/e), `source`,
  `image_width`, `image_height` and `tag_string_{general,character,copyright,artist,meta}`.
  `file_url` and `md5` are missing on posts the account may not see.
- Gelbooru `GET /index.php?page=dapi&s=post&q=index&json=1&tags=T&limit=N&pid=P`
  (pid from 0, limit up to 100): an object wrapping `post` (absent when no posts match),
  posts with `id`, `md5`, `file_url`, `tags` (one string, no categories), `rating`
  (general/sensitive/questionable/explicit), `source`, `width`, `height`.
- Safebooru, same request: a bare list (an empty body when nothing matches); `hash` for
  the md5 and, on older servers, no `file_url`: the file is `/images/DIRECTORY/IMAGE`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from illudex.errors import InvalidInput, Unavailable

DANBOORU, GELBOORU, SAFEBOORU = "danbooru", "gelbooru", "safebooru"
KINDS = (DANBOORU, GELBOORU, SAFEBOORU)
DEFAULT_URLS = {
    DANBOORU: "https://danbooru.donmai.us",
    GELBOORU: "https://gelbooru.com",
    SAFEBOORU: "https://safebooru.org",
}
PAGE_LIMITS = {DANBOORU: 200, GELBOORU: 100, SAFEBOORU: 100}
CATEGORIES = ("general", "character", "copyright", "artist", "meta")
# Danbooru's one-letter ratings, and the older word Gelbooru 0.2 boorus still answer.
RATINGS = {"g": "general", "s": "sensitive", "q": "questionable", "e": "explicit",
           "safe": "general"}
RATING_NAMES = ("general", "sensitive", "questionable", "explicit")


class BooruAPIError(Unavailable):
    """A result page that is not what the API returns (garbage, an error page)."""


@dataclass(frozen=True)
class Post:
    id: int
    md5: str | None  # lower-case hex, None when the booru hides it
    file_url: str | None
    ext: str
    rating: str | None  # one of RATING_NAMES
    source: str
    width: int | None
    height: int | None
    tags: dict[str, list[str]] = field(default_factory=dict)  # category -> names

    def metadata(self, site: str, post_url: str) -> dict[str, Any]:
        """What a dataset keeps about the post: JSON-ready."""
        return {"site": site, "id": self.id, "md5": self.md5, "rating": self.rating,
                "source": self.source, "file_url": self.file_url, "post_url": post_url,
                "width": self.width, "height": self.height, "tags": self.tags}


def page_request(
    kind: str, base: str, tags: str, limit: int, page: int, before: int | None = None
) -> tuple[str, dict]:
    """(URL, query parameters) of result page `page` (0-based for every kind), or, given
    `before`, of the posts older than that id: a cursor that neither skips nor repeats posts
    when new ones are uploaded during a slow crawl, and that has no page cap (Danbooru
    stops numbered pages at 1000, Gelbooru at pid * limit 20 000). Danbooru takes it as
    `page=bID`, the dapi form as an `id:<ID` tag (as gallery-dl pages both, commit 86047cf)."""
    base = base.rstrip("/")
    if kind == DANBOORU:
        where = f"b{before}" if before is not None else page + 1
        return f"{base}/posts.json", {"tags": tags, "limit": limit, "page": where}
    if before is not None:
        tags, page = f"{tags} id:<{before}".strip(), 0
    return f"{base}/index.php", {"page": "dapi", "s": "post", "q": "index", "json": 1,
                                 "tags": tags, "limit": limit, "pid": page}


def cursor_allowed(tags: str) -> bool:
    """Whether results come newest id first, so an id cursor pages them: not when the
    search asks for another order (or pins ids itself)."""
    return not any(t.split(":", 1)[0].lstrip("-") in ("order", "sort", "id")
                   for t in tags.split() if ":" in t)


def post_page_url(kind: str, base: str, post_id: int) -> str:
    """The post's page on the booru, for people (kept as metadata)."""
    base = base.rstrip("/")
    if kind == DANBOORU:
        return f"{base}/posts/{post_id}"
    return f"{base}/index.php?page=post&s=view&id={post_id}"


def parse_page(kind: str, base: str, body: bytes) -> list[Post]:
    """The posts of one result page; BooruAPIError when the body is not the API's JSON."""
    if not body.strip():
        return []  # Gelbooru 0.2 boorus answer an empty body past the last page
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BooruAPIError(f"not JSON ({e.__class__.__name__}: {e}): {body[:80]!r}") from None
    if isinstance(data, dict) and kind != DANBOORU and ("post" in data or "@attributes" in data):
        data = data.get("post", [])  # Gelbooru's wrapper; no "post" key: no posts
        data = [data] if isinstance(data, dict) else data  # one post may come unwrapped
    if isinstance(data, dict) and ("success" in data or "message" in data):
        raise BooruAPIError(f"the booru refused: {data.get('message') or data}")
    if not isinstance(data, list):
        raise BooruAPIError(f"expected a list of posts, got {type(data).__name__}")
    parse = _danbooru_post if kind == DANBOORU else _dapi_post
    return [parse(item, base) for item in data if isinstance(item, dict) and "id" in item]


def _danbooru_post(item: dict[str, Any], base: str) -> Post:
    tags = {c: _split(item.get(f"tag_string_{c}")) for c in CATEGORIES}
    if not any(tags.values()):  # an older or trimmed answer: one uncategorised string
        tags["general"] = _split(item.get("tag_string"))
    url = _absolute(item.get("file_url"), base)
    return Post(id=int(item["id"]), md5=_md5(item.get("md5")), file_url=url,
                ext=_ext(item.get("file_ext"), url), rating=_rating(item.get("rating")),
                source=str(item.get("source") or ""), width=_int(item.get("image_width")),
                height=_int(item.get("image_height")), tags={c: t for c, t in tags.items() if t})


def _dapi_post(item: dict[str, Any], base: str) -> Post:
    url = _absolute(item.get("file_url"), base)
    if url is None and item.get("directory") and item.get("image"):
        url = f"{base.rstrip('/')}/images/{item['directory']}/{item['image']}"
    tags = _split(item.get("tags"))
    return Post(id=int(item["id"]), md5=_md5(item.get("md5") or item.get("hash")),
                file_url=url, ext=_ext(None, url or str(item.get("image") or "")),
                rating=_rating(item.get("rating")), source=str(item.get("source") or ""),
                width=_int(item.get("width")), height=_int(item.get("height")),
                tags={"general": tags} if tags else {})


def _split(value: Any) -> list[str]:
    return [t for t in str(value or "").split() if t]


def _md5(value: Any) -> str | None:
    text = str(value or "").strip().lower()
    return text if len(text) == 32 and all(c in "0123456789abcdef" for c in text) else None


def _rating(value: Any) -> str | None:
    text = str(value or "").strip().lower()
    return text if text in RATING_NAMES else RATINGS.get(text)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _absolute(url: Any, base: str) -> str | None:
    if not url:
        return None
    text = str(url)
    if text.startswith("//"):
        return f"{urlsplit(base).scheme}:{text}"
    if text.startswith("/"):
        return base.rstrip("/") + text
    return text


def _ext(ext: Any, url: str | None) -> str:
    if ext:
        return str(ext).lower().lstrip(".")
    return os.path.splitext(urlsplit(url or "").path)[1].lower().lstrip(".")


def normalise_rating(value: str) -> str:
    """A rating as the spec may name it (g, general, safe ...) as one of RATING_NAMES."""
    name = _rating(value)
    if name is None:
        raise InvalidInput(f"unknown rating {value!r}: use one of {', '.join(RATING_NAMES)}")
    return name
