"""Pictures on S3-compatible storage (a real S3 server on 127.0.0.1: moto's), found and
read with the credentials and endpoint the environment gives."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest

from illudex.engines.storage import is_url, list_pictures, read_bytes


def upload(bucket: str, files: dict[str, bytes]) -> None:
    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    for key, data in files.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)


def test_urls_and_local_paths_are_told_apart() -> None:
    assert is_url("s3://bucket/art")
    assert not is_url("/data/art") and not is_url("art/s3:/x")


def test_pictures_under_a_prefix_are_listed_and_read(s3_bucket: str, tmp_path: Path,
                                                     make_picture) -> None:
    png = make_picture(tmp_path / "a.png").read_bytes()
    webp = make_picture(tmp_path / "b.webp", seed=2).read_bytes()
    upload(s3_bucket, {"set/a.png": png, "set/deep/b.webp": webp, "set/notes.txt": b"hi",
                       "other/c.png": png})
    found = list_pictures(f"s3://{s3_bucket}/set")
    assert [(f.url, f.size) for f in found] == [
        (f"s3://{s3_bucket}/set/a.png", len(png)), (f"s3://{s3_bucket}/set/deep/b.webp",
                                                    len(webp))]
    assert all(f.mtime_ns > 0 for f in found)
    assert read_bytes(found[1].url) == webp
    with pytest.raises(FileNotFoundError):
        read_bytes(f"s3://{s3_bucket}/set/gone.png")
