"""Where pictures are read from: a path every worker sees (a shared mount), or an object
store URL (s3://bucket/prefix: MinIO, Ceph, AWS) read through pyarrow's filesystems.

Credentials come from the environment as every S3 tool takes them (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION / AWS_DEFAULT_REGION), and the
endpoint of a non-AWS store from AWS_ENDPOINT_URL (http://nas.local:9000 for MinIO):
nothing secret is ever written into the library.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from illudex.errors import InvalidInput, Unavailable
from illudex.picturefiles import is_image_name

SCHEMES = ("s3",)
ENV_ENDPOINT = "AWS_ENDPOINT_URL"
ENV_S3 = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
          "AWS_DEFAULT_REGION", ENV_ENDPOINT)


@dataclass(frozen=True)
class S3Access:
    """The S3 settings of the environment that started the run: handed to the workers
    with the work, since a Ray worker's environment is the one its node started with."""

    env: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_env(cls) -> S3Access:
        return cls(tuple((k, os.environ[k]) for k in ENV_S3 if os.environ.get(k)))

    def get(self, key: str) -> str:
        return dict(self.env).get(key, "")


def is_url(path: str) -> bool:
    """An object-store URL (s3://…), not a local path."""
    return urlsplit(path).scheme in SCHEMES


@dataclass(frozen=True)
class RemoteFile:
    url: str
    size: int
    mtime_ns: int


def read_bytes(path: str, access: S3Access | None = None) -> bytes:
    """The whole file at a local path or an object-store URL (with `access`, or this
    process's environment)."""
    if not is_url(path):
        with open(path, "rb") as f:
            return f.read()
    fs, key = _filesystem(path, access)
    with fs.open_input_stream(key) as f:
        return f.read()


def list_pictures(url: str) -> list[RemoteFile]:
    """Every picture under an object-store prefix (by name, as the folder walk decides),
    sorted by URL."""
    from pyarrow import fs as pafs

    filesystem, key = _filesystem(url)
    selector = pafs.FileSelector(key.rstrip("/"), recursive=True, allow_not_found=True)
    scheme = urlsplit(url).scheme
    found = [RemoteFile(f"{scheme}://{info.path}", int(info.size or 0),
                        int(info.mtime_ns or 0))
             for info in filesystem.get_file_info(selector)
             if info.type == pafs.FileType.File and is_image_name(info.base_name)]
    return sorted(found, key=lambda f: f.url)


def _filesystem(url: str, access: S3Access | None = None) -> tuple[Any, str]:
    """(pyarrow filesystem, bucket/key) of an object-store URL."""
    parts = urlsplit(url)
    if not parts.netloc:
        raise InvalidInput(f"no bucket in {url!r}: write s3://BUCKET/prefix")
    return _s3(access or S3Access.from_env()), parts.netloc + parts.path


@cache
def _s3(access: S3Access) -> Any:
    try:
        from pyarrow import fs as pafs
    except ImportError as exc:
        raise Unavailable("reading s3:// needs pyarrow: pip install 'illudex[ray]'") from exc
    options: dict[str, Any] = {
        "access_key": access.get("AWS_ACCESS_KEY_ID") or None,
        "secret_key": access.get("AWS_SECRET_ACCESS_KEY") or None,
        "session_token": access.get("AWS_SESSION_TOKEN") or None,
        "region": access.get("AWS_REGION") or access.get("AWS_DEFAULT_REGION") or None,
    }
    endpoint = access.get(ENV_ENDPOINT)
    if endpoint:
        parts = urlsplit(endpoint)
        options |= {"endpoint_override": parts.netloc or parts.path,
                    "scheme": parts.scheme or "https"}
    return pafs.S3FileSystem(**{k: v for k, v in options.items() if v is not None})
