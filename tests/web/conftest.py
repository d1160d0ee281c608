"""Fixtures for the web tests: a real sample library (pictures drawn by illudex.sample,
scanned for real) and the real app over it, reached through httpx."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from illudex.library import Library
from illudex.sample import make_sample
from illudex.web import create_app

BASE_URL = "http://127.0.0.1:8765"
CHANGE = {"X-Illudex": "1"}  # what the web UI sends with every change
SAMPLE_SIZE = 8  # pictures drawn: with their copies, 8 duplicate groups and 2 alternates


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives the web UI in headless Chromium (needs /usr/bin/chromium)"
    )


@dataclass
class SampleLibrary:
    dir: Path  # the library folder (catalog, thumbnails, trash)
    art: Path  # the picture folder it indexes


def scanned_sample(root: Path, template: Path) -> SampleLibrary:
    """A copy of the sample pictures in `root/art`, scanned into `root/library`."""
    art = root / "art"
    shutil.copytree(template, art)
    lib = Library.open(root / "library")
    try:
        lib.workers = 1
        report = lib.scan([art])
        assert report.added > 0, report.as_json()
    finally:
        lib.close()
    return SampleLibrary(dir=root / "library", art=art)


@pytest.fixture(scope="session")
def sample_pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample folder, drawn once (drawing is the slow part; copies are cheap)."""
    return make_sample(tmp_path_factory.mktemp("sample") / "art", n=SAMPLE_SIZE)


@pytest.fixture
def sample(tmp_path: Path, sample_pictures: Path) -> SampleLibrary:
    """A library of its own, for tests that change files or the catalog."""
    return scanned_sample(tmp_path, sample_pictures)


@pytest.fixture
def client(sample: SampleLibrary) -> Iterator[TestClient]:
    with TestClient(create_app(sample.dir), base_url=BASE_URL) as c:
        yield c


@pytest.fixture(scope="module")
def shared_sample(tmp_path_factory: pytest.TempPathFactory, sample_pictures: Path
                  ) -> SampleLibrary:
    """One library for a module's tests that only read."""
    return scanned_sample(tmp_path_factory.mktemp("shared"), sample_pictures)


@pytest.fixture(scope="module")
def reader(shared_sample: SampleLibrary) -> Iterator[TestClient]:
    with TestClient(create_app(shared_sample.dir), base_url=BASE_URL) as c:
        yield c
