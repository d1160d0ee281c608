"""The booru source against a fake booru on 127.0.0.1 (tests/dataset/fakebooru.py): real
HTTP, real files, a real catalog."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from illudex.dataset.booru import BooruSpec, BooruSpecError, fetch_booru
from illudex.dataset.booru_http import retry_after
from illudex.library import Library
from illudex.progress import Progress
from tests.dataset.fakebooru import FakeBooru, FakePost, noise_png, sample_posts

FAST = {"rate": 0, "backoff": 0.01}  # tests do not wait out politeness unless they test it


def spec(booru: FakeBooru, **extra: Any) -> BooruSpec:
    table = {"site": booru.kind, "url": booru.url, "name": booru.kind, **FAST, **extra}
    return BooruSpec.from_table(table)


def tags_of(lib: Library, path: str) -> set[tuple[str, str, str]]:
    return {(t.name, t.category, t.source) for t in lib.tags.of_image(lib.image_at(path).id)}


def file_hits(booru: FakeBooru) -> dict[int, int]:
    return {p.id: booru.hits[str(p.id)] for p in booru.posts}


def test_danbooru_posts_are_downloaded_scanned_and_tagged(library: Library) -> None:
    with FakeBooru("danbooru", sample_posts(3)) as booru:
        result = fetch_booru(spec(booru, tags="solo", limit=3), library)
    assert result.errors == []
    assert [m["id"] for _, m in result.images] == [3, 2, 1]  # the booru's order
    path, meta = result.images[2]
    assert path == str(library.dir / "booru" / "danbooru" / "1.png")
    assert Path(path).read_bytes() == booru.posts[0].data
    assert meta["md5"] == booru.posts[0].md5 and meta["rating"] == "general"
    assert meta["source"] == "https://example.org/1" and meta["post_url"].endswith("/posts/1")
    assert meta["tags"]["character"] == ["surtr_(arknights)"]
    sidecar = json.loads(Path(path).with_suffix(".json").read_text())
    assert sidecar["id"] == 1 and sidecar["tags"]["artist"] == ["artist_1"]
    assert tags_of(library, path) == {
        ("1girl", "general", "booru:danbooru"), ("solo", "general", "booru:danbooru"),
        ("thing_1", "general", "booru:danbooru"),
        ("surtr_(arknights)", "character", "booru:danbooru"),
        ("arknights", "copyright", "booru:danbooru"), ("artist_1", "artist", "booru:danbooru"),
        ("highres", "meta", "booru:danbooru"), ("rating:general", "rating", "booru:danbooru"),
    }
    assert library.search("surtr_(arknights) rating:sensitive").total == 1
    api = [e for e in booru.log if e["target"] == "api"]
    assert "/posts.json?" in api[0]["path"] and "page=1" in api[0]["path"]
    assert all(e["headers"]["User-Agent"].startswith("illudex/") for e in booru.log)
    assert not list((library.dir / "booru" / "danbooru").glob("*.part"))


def test_a_rerun_downloads_nothing_and_a_longer_limit_only_the_new_posts(
    library: Library,
) -> None:
    with FakeBooru("danbooru", sample_posts(5)) as booru:
        first = fetch_booru(spec(booru, limit=2), library)
        again = fetch_booru(spec(booru, limit=2), library)
        more = fetch_booru(spec(booru, limit=5), library)
    assert (first.downloaded, again.downloaded, again.reused) == (2, 0, 2)
    assert (more.downloaded, more.reused) == (3, 2)
    assert file_hits(booru) == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}
    assert [p for p, _ in again.images] == [p for p, _ in first.images]


def test_gelbooru_wrapper_pages_and_credentials_from_the_environment(library: Library) -> None:
    auth = {"api_key": "s3cret", "user_id": "42"}
    env = {"ILLUDEX_GELBOORU_API_KEY": "s3cret", "ILLUDEX_GELBOORU_USER_ID": "42"}
    with FakeBooru("gelbooru", sample_posts(5), page_max=2, auth=auth) as booru:
        denied = fetch_booru(spec(booru, limit=5), library, env={})
        result = fetch_booru(spec(booru, limit=5), library, env=env)
    assert denied.images == [] and "HTTP 401" in denied.errors[0]["error"]
    assert "login required" in denied.errors[0]["error"]  # the booru's own message
    assert booru.hits["api"] == 1 + 3  # a refusal is not retried; then 3 pages
    assert "s3cret" not in json.dumps(denied.errors)
    assert result.errors == []
    assert sorted(m["id"] for _, m in result.images) == [1, 2, 3, 4, 5]
    pages = [e["path"] for e in booru.log if e["target"] == "api" and "s3cret" in e["path"]]
    assert len(pages) == 3 and "id%3A%3C2" in pages[-1]  # 2 a page: 3 pages, by id cursor
    path = result.images[0][0]
    assert ("rating:general", "rating", "booru:gelbooru") in tags_of(library, path)
    assert "s3cret" not in Path(path).with_suffix(".json").read_text()


def test_danbooru_login_goes_as_basic_auth(library: Library) -> None:
    env = {"ILLUDEX_DANBOORU_LOGIN": "me", "ILLUDEX_DANBOORU_API_KEY": "k"}
    with FakeBooru("danbooru", sample_posts(1), auth={"basic": "me:k"}) as booru:
        result = fetch_booru(spec(booru), library, env=env)
    assert result.errors == [] and len(result.images) == 1
    assert "k" not in [e["path"].rsplit("=", 1)[-1] for e in booru.log]


def test_posts_uploaded_during_the_crawl_neither_repeat_nor_shift_pages(
    library: Library,
) -> None:
    with FakeBooru("danbooru", sample_posts(4), page_max=2) as booru:

        def upload_one(progress: Progress) -> None:
            if progress.done == 1:  # a new post arrives while the first page is downloaded
                booru.posts.append(FakePost(id=10, data=noise_png(10)))

        result = fetch_booru(spec(booru, limit=4), library, progress=upload_one)
    assert [m["id"] for _, m in result.images] == [4, 3, 2, 1]
    assert any("page=b3" in e["path"] for e in booru.log)


def test_a_sorted_search_pages_by_number(library: Library) -> None:
    with FakeBooru("danbooru", sample_posts(3), page_max=2) as booru:
        result = fetch_booru(spec(booru, tags="order:score", limit=3), library)
    pages = [e["path"] for e in booru.log if e["target"] == "api"]
    assert "page=1" in pages[0] and "page=2" in pages[1]
    assert sorted(m["id"] for _, m in result.images) == [1, 2, 3]


def test_safebooru_list_without_file_url_and_empty_last_page(library: Library) -> None:
    with FakeBooru("safebooru", sample_posts(3), page_max=2) as booru:
        result = fetch_booru(spec(booru, limit=10), library)
    assert result.errors == []
    assert sorted(m["id"] for _, m in result.images) == [1, 2, 3]
    by_id = {m["id"]: m for _, m in result.images}
    assert by_id[1]["file_url"].startswith(booru.url + "/images/")
    assert by_id[1]["rating"] == "general"  # "safe", the older word
    assert booru.hits["api"] == 3  # 2 + 1 posts, then the empty body ends the search


def test_rating_is_asked_of_the_booru_and_checked_here(library: Library) -> None:
    with FakeBooru("danbooru", sample_posts(4)) as booru:
        one = fetch_booru(spec(booru, rating="s"), library)
        assert "rating%3Asensitive" in booru.log[0]["path"]
        both = fetch_booru(spec(booru, rating=["general", "explicit"]), library)
    assert sorted(m["id"] for _, m in one.images) == [2, 4]
    assert sorted(m["id"] for _, m in both.images) == [1, 3]
    assert both.skipped == {"rating": 2}


def test_429_500_garbage_truncated_corrupt_and_dropped_answers_are_retried(
    library: Library,
) -> None:
    with FakeBooru("danbooru", sample_posts(3)) as booru:
        booru.fail("api", "429", "500", "garbage", "drop")
        booru.fail(1, "truncate", "corrupt")
        booru.fail(2, "drop", "503")
        result = fetch_booru(spec(booru, limit=3), library)
    assert result.errors == []
    assert sorted(m["id"] for _, m in result.images) == [1, 2, 3]
    assert booru.hits["api"] == 5 and file_hits(booru) == {1: 3, 2: 3, 3: 1}
    for post in booru.posts:
        path = library.dir / "booru" / "danbooru" / f"{post.id}.png"
        assert path.read_bytes() == post.data


def test_failures_that_last_are_recorded_and_the_rest_goes_on(library: Library) -> None:
    with FakeBooru("danbooru", sample_posts(3)) as booru:
        booru.fail(2, *["500"] * 10)
        booru.fail(3, "404")
        result = fetch_booru(spec(booru, retries=2), library)
    assert [m["id"] for _, m in result.images] == [1]
    errors = {e["url"].rsplit("/", 1)[-1]: e["error"] for e in result.errors}
    assert "HTTP 500" in errors[f"{booru.posts[1].md5}.png"]
    assert "3 tries" in errors[f"{booru.posts[1].md5}.png"]
    assert "HTTP 404" in errors[f"{booru.posts[2].md5}.png"]
    assert file_hits(booru) == {1: 1, 2: 3, 3: 1}  # a 404 is not asked again
    assert not list((library.dir / "booru" / "danbooru").glob("[23].*"))


def test_a_download_that_is_no_picture_is_an_error_with_its_path(library: Library) -> None:
    broken = FakePost(id=9, data=b"\x89PNG but not really", tags={"general": ["solo"]})
    with FakeBooru("danbooru", [broken, *sample_posts(1)]) as booru:
        result = fetch_booru(spec(booru), library)
    assert [m["id"] for _, m in result.images] == [1]
    (error,) = result.errors
    assert error["path"].endswith("9.png") and error["url"].startswith(booru.url)


def test_videos_are_left_out_and_a_re_upload_is_listed_once(library: Library) -> None:
    posts = sample_posts(2)
    video = FakePost(id=5, data=b"not a picture", ext="mp4", tags={"general": ["solo"]})
    again = FakePost(id=6, data=posts[0].data, tags={"general": ["re-upload"]})
    with FakeBooru("danbooru", [*posts, video, again]) as booru:
        result = fetch_booru(spec(booru), library)
    assert result.skipped == {"not a picture (mp4)": 1} and booru.hits["5"] == 0
    assert [m["id"] for _, m in result.images] == [6, 2]  # 1 is 6's file: listed once
    assert ("re-upload", "general", "booru:danbooru") in tags_of(library, result.images[0][0])
    assert ("thing_1", "general", "booru:danbooru") in tags_of(library, result.images[0][0])


def test_a_search_that_keeps_failing_stops(library: Library) -> None:
    with FakeBooru("danbooru", sample_posts(2)) as booru:
        booru.fail("api", *["garbage"] * 20)
        result = fetch_booru(spec(booru, retries=1), library)
    assert result.images == [] and booru.hits["api"] == 6  # 3 pages, 2 tries each
    assert "not JSON" in result.errors[0]["error"] and "stopped" in result.errors[-1]["error"]


def test_retry_after_is_honoured(library: Library) -> None:
    with FakeBooru("danbooru", sample_posts(1)) as booru:
        booru.fail("api", "429:1")
        fetch_booru(spec(booru), library)
    first, second = (e["time"] for e in booru.log[:2])
    assert second - first >= 0.95
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0 and retry_after("2.5") == 2.5


def test_requests_are_spaced_by_the_rate(library: Library) -> None:
    with FakeBooru("danbooru", sample_posts(3)) as booru:
        result = fetch_booru(spec(booru, rate=5, limit=3), library)  # 1 page, 3 files
    times = [e["time"] for e in booru.log]
    assert result.requests == len(times) == 4
    # 0.2 s between starts here; the server sees them with some jitter
    assert times[-1] - times[0] >= 0.55
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.12


def test_the_default_is_one_request_a_second() -> None:
    booru = BooruSpec.from_table({"site": "danbooru", "tags": "solo"})
    assert booru.politeness.rate == 1.0 and booru.url == "https://danbooru.donmai.us"


def test_a_picture_the_user_has_is_a_known_duplicate(library: Library, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    posts = sample_posts(2)
    (mine / "kept.png").write_bytes(posts[0].data)
    library.scan([mine])
    with FakeBooru("danbooru", posts) as booru:
        result = fetch_booru(spec(booru), library)
    downloaded = dict((m["id"], p) for p, m in result.images)[1]
    assert library.image_at(downloaded).digest == library.image_at(mine / "kept.png").digest
    report = library.dupes.find([mine, library.dir / "booru"])
    groups = [sorted(f.path for f in g.files) for g in report.groups]
    assert sorted([str(mine / "kept.png"), downloaded]) in groups


def test_one_picture_on_two_boorus_is_fetched_once(library: Library) -> None:
    shared = FakePost(id=7, data=noise_png(77), tags={"general": ["solo"]})
    with FakeBooru("danbooru", [shared]) as dan, FakeBooru("gelbooru", [
        FakePost(id=900, data=shared.data, tags={"general": ["solo", "red_eyes"]})
    ]) as gel:
        a = fetch_booru(spec(dan), library)
        b = fetch_booru(spec(gel), library)
    assert a.images[0][0] == b.images[0][0] and (b.downloaded, b.reused) == (0, 1)
    assert dan.hits["7"] == 1 and gel.hits["900"] == 0
    names = tags_of(library, a.images[0][0])
    assert ("red_eyes", "general", "booru:gelbooru") in names
    assert ("solo", "general", "booru:danbooru") in names


def test_spec_errors_and_site_forms() -> None:
    custom = BooruSpec.from_table({"site": "danbooru+https://aibooru.online/"})
    assert (custom.kind, custom.url, custom.name) == (
        "danbooru", "https://aibooru.online", "aibooru.online")
    assert BooruSpec.from_table({"site": "gelbooru", "rating": "g, q"}).ratings == (
        "general", "questionable")
    for bad, words in [({"site": "pixiv"}, "unknown booru"), ({"limit": 0}, "limit"),
                       ({"rating": "spicy"}, "unknown rating"), ({"tag": "x"}, "unknown key"),
                       ({"site": "danbooru+ftp://x"}, "http(s)"), ({"rate": -1}, "rate")]:
        with pytest.raises(BooruSpecError, match=words.replace("(", r"\(").replace(")", r"\)")):
            BooruSpec.from_table(bad)


def test_a_custom_address_gets_no_credentials_meant_for_the_real_site(
    library: Library,
) -> None:
    env = {"ILLUDEX_DANBOORU_LOGIN": "me", "ILLUDEX_DANBOORU_API_KEY": "k"}
    with FakeBooru("danbooru", sample_posts(1)) as booru:
        fetch_booru(BooruSpec.from_table({"site": f"danbooru+{booru.url}", **FAST}), library,
                    env=env)
    assert all("Authorization" not in e["headers"] for e in booru.log)


KILLED_RUN = """
import sys
from illudex.dataset.booru import BooruSpec, fetch_booru
from illudex.library import Library
lib = Library.open(sys.argv[1])
lib.workers = 1
spec = BooruSpec.from_table({"site": "danbooru", "url": sys.argv[2], "name": "danbooru",
                             "rate": 0, "backoff": 0.01, "limit": 6})
fetch_booru(spec, lib)
"""


def test_kill_9_mid_download_then_resume_without_duplicates(tmp_path: Path) -> None:
    posts = sample_posts(6)
    lib_dir = tmp_path / "library"
    with FakeBooru("danbooru", posts) as booru:
        booru.fail(3, "stall")  # newest first: 6, 5, 4 finish, 3 hangs half-written
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
        child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(KILLED_RUN),
                                  str(lib_dir), booru.url], env=env)
        part = lib_dir / "booru" / "danbooru" / "3.png.part"
        try:
            assert booru.stalled.wait(60), "the download never started"
            deadline = time.monotonic() + 20
            while not part.exists():  # the download of post 3 has begun
                assert time.monotonic() < deadline, "no part file"
                time.sleep(0.05)
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        folder = lib_dir / "booru" / "danbooru"
        assert sorted(p.name for p in folder.glob("*.png*")) == [
            "3.png.part", "4.png", "5.png", "6.png"]
        with Library.open(lib_dir) as lib:
            lib.workers = 1
            result = fetch_booru(spec(booru, limit=6), lib)
    assert result.errors == [] and (result.reused, result.downloaded) == (3, 3)
    assert file_hits(booru) == {1: 1, 2: 1, 3: 2, 4: 1, 5: 1, 6: 1}
    assert sorted(p.name for p in folder.glob("*.png*")) == [f"{i}.png" for i in range(1, 7)]
    manifest = (lib_dir / "booru" / "manifest.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in manifest) == [1, 2, 3, 4, 5, 6]
    with Library.open(lib_dir) as lib:
        assert len(lib.image_ids([folder])) == 6


def test_a_file_renamed_before_its_manifest_line_is_adopted(library: Library) -> None:
    with FakeBooru("danbooru", sample_posts(2)) as booru:
        fetch_booru(spec(booru), library)
        (library.dir / "booru" / "manifest.jsonl").write_text('{"md5": "abc", "pa')  # torn
        again = fetch_booru(spec(booru), library)
    assert (again.downloaded, again.reused) == (0, 2) and file_hits(booru) == {1: 1, 2: 1}
    lines = (library.dir / "booru" / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[1])["id"] in (1, 2)
