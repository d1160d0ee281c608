"""Booru searches as a dataset source: Danbooru's JSON API and the Gelbooru/Safebooru
`dapi` form.

For the pipeline (a spec's `[source.booru]` table):

    spec = BooruSpec.from_table({"site": "danbooru", "tags": "surtr_(arknights) solo",
                                 "rating": "general", "limit": 200})
    result = fetch_booru(spec, library, progress=None)
    result.images   # [(path, metadata)] in the booru's order, each a catalogued picture
    result.errors   # [{"url", "error"}] (+ "path" once downloaded): pages and posts
                    # that failed for good; the run goes on without them

`site` is "danbooru", "gelbooru", "safebooru", or "KIND+URL" for another server of that
kind ("danbooru+https://aibooru.online"); `url` overrides the address, `name` the folder
and tag source (default: the site, or the host of a custom address). `rating` is a name or
a list (g/s/q/e or general/sensitive/questionable/explicit), `limit` the number of posts
taken (default 100). Optional: `rate` (requests a second, default 1), `retries`,
`backoff`. Credentials come from the environment only, by site name:
ILLUDEX_<NAME>_LOGIN + ILLUDEX_<NAME>_API_KEY (Danbooru, sent as HTTP basic auth) or
ILLUDEX_<NAME>_USER_ID + ILLUDEX_<NAME>_API_KEY (Gelbooru kind, query parameters); they
never appear in errors, metadata or the spec.

Pictures go to `LIB/booru/NAME/ID.EXT` (a part file, md5-checked, renamed) with the post's
metadata in `ID.json` beside it, are scanned like any picture (so the duplicate finder sees
them next to the user's own), and get the post's tags in the catalog with their
categories, source `booru:NAME`, plus `rating:RATING` (category rating), replacing that
source's earlier tags on the picture. A rerun, or a run after a kill -9, downloads only
what is not finished (`booru_store`). Metadata per picture (JSON-ready): site, id, md5,
rating, source, file_url, post_url, width, height, tags {category: [names]}, path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from illudex.catalog import imagetags
from illudex.catalog.images import row_by_path
from illudex.catalog.tagrows import normalise, tag_ids
from illudex.catalog.transaction import transaction
from illudex.dataset import booru_api as api
from illudex.dataset.booru_http import (
    FetchError,
    PoliteClient,
    Politeness,
    RetryableError,
    display_url,
)
from illudex.dataset.booru_store import DownloadStore, finish, safe_name, write_sidecar
from illudex.errors import InvalidInput
from illudex.picturefiles import is_image_name
from illudex.progress import ProgressCallback, notify

if TYPE_CHECKING:
    from illudex.library import Library

SOURCE_PREFIX = "booru:"
MAX_FAILED_PAGES = 3  # consecutive result pages that fail for good before the search stops


class BooruSpecError(InvalidInput):
    """A `[source.booru]` table that cannot be used, with the reason in words."""


@dataclass(frozen=True)
class BooruSpec:
    name: str  # folder under LIB/booru and tag source booru:NAME
    kind: str  # danbooru | gelbooru | safebooru: the API form
    url: str
    tags: str = ""
    ratings: tuple[str, ...] = ()  # empty: every rating
    limit: int = 100
    politeness: Politeness = field(default_factory=Politeness)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> BooruSpec:
        known = {"site", "url", "name", "tags", "rating", "limit", "rate", "retries", "backoff"}
        unknown = sorted(set(table) - known)
        if unknown:
            raise BooruSpecError(f"unknown key(s) in [source.booru]: {', '.join(unknown)} "
                                 f"(known: {', '.join(sorted(known))})")
        kind, url, default_name = _site(str(table.get("site", api.DANBOORU)), table.get("url"))
        return cls(
            name=safe_name(str(table.get("name") or default_name)), kind=kind, url=url,
            tags=_tags(table.get("tags", "")), ratings=_ratings(table.get("rating")),
            limit=_positive_int(table.get("limit", 100), "limit"),
            politeness=Politeness(
                rate=_number(table.get("rate", 1.0), "rate"),
                retries=int(_number(table.get("retries", 5), "retries")),
                backoff=_number(table.get("backoff", 1.0), "backoff"),
            ),
        )

    @property
    def source(self) -> str:
        """The tag source of this booru's tags in the catalog."""
        return SOURCE_PREFIX + self.name

    def query(self) -> str:
        """The tags sent to the booru: the spec's, plus the rating when it names one (more
        than one is filtered here: the dapi form has no 'any of' for ratings)."""
        if len(self.ratings) == 1 and not any(t.startswith("rating:") for t in self.tags.split()):
            return f"{self.tags} rating:{self.ratings[0]}".strip()
        return self.tags


@dataclass
class BooruResult:
    images: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    downloaded: int = 0  # files fetched by this run
    reused: int = 0  # finished by an earlier run (or another site), not fetched again
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> posts left out
    requests: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"images": [{"path": p, **m} for p, m in self.images], "errors": self.errors,
                "downloaded": self.downloaded, "reused": self.reused,
                "skipped": self.skipped, "requests": self.requests}


def fetch_booru(
    spec: BooruSpec,
    library: Library,
    progress: ProgressCallback | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> BooruResult:
    """Search the booru, download what is missing, scan and tag it (see the module doc)."""
    result = BooruResult()
    store = DownloadStore(library.dir / "booru", spec.name)
    client = _client(spec, os.environ if env is None else env)
    taken: list[tuple[api.Post, str]] = []
    try:
        for post in _posts(spec, client, result):
            path = _obtain(post, spec, store, client, result)
            if path is not None:
                taken.append((post, path))
            notify(progress, "download", len(taken), spec.limit, f"{spec.name} post {post.id}")
    finally:
        result.requests = client.requests
        client.close()
    _catalogue(spec, library, store, taken, result)
    return result


def _client(spec: BooruSpec, env: Mapping[str, str]) -> PoliteClient:
    prefix = f"ILLUDEX_{spec.name.upper().replace('.', '_').replace('-', '_')}_"
    key = env.get(prefix + "API_KEY")
    login = env.get(prefix + "LOGIN")
    user_id = env.get(prefix + "USER_ID")
    if spec.kind == api.DANBOORU:
        auth = (login, key) if login and key else None
        return PoliteClient(spec.politeness, auth=auth)
    params = {"api_key": key, "user_id": user_id} if key and user_id else None
    return PoliteClient(spec.politeness, params=params)


def _posts(spec: BooruSpec, client: PoliteClient, result: BooruResult) -> Iterator[api.Post]:
    """Posts of the search that match the spec, up to `limit`, page after page."""
    size = min(spec.limit, api.PAGE_LIMITS[spec.kind])
    query = spec.query()
    cursor = api.cursor_allowed(query)
    given, failed, page, before = 0, 0, 0, None
    seen: set[int] = set()
    while given < spec.limit and failed < MAX_FAILED_PAGES:
        url, params = api.page_request(spec.kind, spec.url, query, size, page, before)
        try:
            posts = client.get(url, params, _page_parser(spec))
        except FetchError as e:
            failed += 1
            result.errors.append({"url": display_url(url, params), "error": str(e)})
            if e.refused:  # a wrong key or a refused search: the next page would be too
                return
            if not cursor:
                page += 1  # numbered pages: skip this one; a cursor asks again
            continue
        failed, page = 0, page + 1
        fresh = [p for p in posts if p.id not in seen]
        if not fresh:
            return
        seen.update(p.id for p in fresh)
        if cursor:
            before = min(p.id for p in fresh)
        for post in fresh:
            reason = _left_out(post, spec)
            if reason:
                result.skipped[reason] = result.skipped.get(reason, 0) + 1
                continue
            yield post
            given += 1
            if given >= spec.limit:
                return
    if failed:
        result.errors.append({"url": spec.url, "error": f"search stopped after {failed} "
                              "result pages failed in a row"})


def _page_parser(spec: BooruSpec) -> Callable[[bytes], list[api.Post]]:
    def parse(body: bytes) -> list[api.Post]:
        try:
            return api.parse_page(spec.kind, spec.url, body)
        except api.BooruAPIError as e:  # often a proxy's error page: ask again
            raise RetryableError(str(e)) from None

    return parse


def _left_out(post: api.Post, spec: BooruSpec) -> str | None:
    if spec.ratings and post.rating not in spec.ratings:
        return "rating"
    if post.file_url and not is_image_name(f"x.{post.ext}"):
        return f"not a picture ({post.ext or 'no extension'})"
    return None


def _obtain(
    post: api.Post, spec: BooruSpec, store: DownloadStore, client: PoliteClient,
    result: BooruResult,
) -> str | None:
    """The local path of the post's picture, downloading it if no earlier run did."""
    post_url = api.post_page_url(spec.kind, spec.url, post.id)
    known = store.known(post.md5, post.id)
    if known is not None:
        result.reused += 1
        if Path(known).parent == store.folder:  # tags and rating may have changed since
            write_sidecar(Path(known).with_suffix(".json"), post.metadata(spec.name, post_url))
        return known
    if not post.file_url:
        result.errors.append({"url": post_url, "error": "no file URL: the post is hidden "
                              "from this account (set the login / API key)"})
        return None
    final = store.target(post.id, post.ext)
    if store.adopt(final, post.md5, post.id):
        result.reused += 1
    else:
        if final.exists():  # the post's file changed upstream: keep both
            final = final.with_name(f"{post.id}_{post.md5 or 'new'}.{post.ext}")
        part = final.with_name(final.name + ".part")
        try:
            client.download(post.file_url, part, post.md5)
        except FetchError as e:
            result.errors.append({"url": post.file_url, "error": str(e)})
            return None
        finish(part, final)
        store.record(final, post.md5, post.id)
        result.downloaded += 1
    write_sidecar(final.with_suffix(".json"), post.metadata(spec.name, post_url))
    return str(final)


def _catalogue(
    spec: BooruSpec, library: Library, store: DownloadStore,
    taken: list[tuple[api.Post, str]], result: BooruResult,
) -> None:
    """Scan the downloads and write each post's tags and rating with its source."""
    folders = sorted({store.folder, *(Path(p).parent for _, p in taken)})
    report = library.scan(folders)
    failed = {e.get("path"): e.get("error", "") for e in report.errors}
    rows: list[tuple[int, api.Post]] = []
    listed: set[str] = set()  # two posts of one file (a re-upload): listed once, tags of both
    for post, path in taken:
        row = row_by_path(library.conn, os.path.abspath(path))
        if row is None:
            result.errors.append({"url": post.file_url or "", "path": path,
                                  "error": failed.get(path) or "not catalogued"})
            continue
        rows.append((row.id, post))
        if path in listed:
            continue
        listed.add(path)
        metadata = post.metadata(spec.name, api.post_page_url(spec.kind, spec.url, post.id))
        result.images.append((path, {**metadata, "path": path}))
    _write_tags(library, spec.source, rows)


def _write_tags(library: Library, source: str, rows: list[tuple[int, api.Post]]) -> None:
    """Replace `source`'s tags on these pictures, in one transaction (as a tagger does)."""
    if not rows:
        return
    with transaction(library.conn, immediate=True) as conn:
        names: dict[str, str] = {}
        for _, post in rows:
            names.update({normalise(t): c for c, tags in post.tags.items() for t in tags})
            if post.rating:
                names[f"rating:{post.rating}"] = "rating"
        ids: dict[str, int] = {}
        for category in sorted(set(names.values())):
            ids.update(tag_ids(conn, [n for n, c in names.items() if c == category], category))
        # A post naming a tag twice gives one row: the same (image, tag, source) replaced.
        imagetags.replace_source(
            conn, source, [image_id for image_id, _ in rows],
            [(image_id, ids[normalise(t)], None) for image_id, post in rows
             for t in _post_tag_names(post)])


def _post_tag_names(post: api.Post) -> list[str]:
    names = [t for tags in post.tags.values() for t in tags]
    return [*names, f"rating:{post.rating}"] if post.rating else names


def _site(site: str, url: Any) -> tuple[str, str, str]:
    """(kind, base URL, default name) of a `site` value and an optional `url`."""
    kind, _, custom = site.partition("+")
    kind = kind.strip().lower()
    if kind not in api.KINDS:
        raise BooruSpecError(f"unknown booru {site!r}: use danbooru, gelbooru, safebooru, "
                             "or KIND+URL for another server of one of those kinds")
    base = str(url or custom or api.DEFAULT_URLS[kind]).rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BooruSpecError(f"booru address {base!r} is not an http(s) URL")
    # Credentials are looked up by name: a custom address is named by its host, so a key
    # meant for danbooru.donmai.us is never sent elsewhere unless the spec says so.
    name = kind if base == api.DEFAULT_URLS[kind] else parts.netloc
    return kind, base, name


def _tags(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return " ".join(str(value).split())


def _ratings(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list | tuple) else str(value).replace(",", " ").split()
    try:
        return tuple(dict.fromkeys(api.normalise_rating(str(v)) for v in items))
    except InvalidInput as e:
        raise BooruSpecError(str(e)) from None


def _positive_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BooruSpecError(f"{key} must be a whole number of at least 1, not {value!r}")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BooruSpecError(f"{key} must be a number of at least 0, not {value!r}")
    return float(value)
