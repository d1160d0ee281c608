"""One error base: every exception class illudex defines derives from `IlludexError`, and
each kind a person can meet says what sort of problem it is (the CLI and the web map the
kind; see tests/web/test_error_mapping.py and tests/cli/test_error_mapping.py)."""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil

import pytest

import illudex
from illudex.errors import Conflict, IlludexError, InvalidInput, LibraryError, NotFound, Unavailable


@functools.cache
def project_exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in an illudex module, by dotted name (every module
    is imported: a class hidden in a module nobody imported yet counts too)."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(illudex.__path__, "illudex."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module.__name__):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_project_exception_is_an_illudex_error() -> None:
    classes = project_exception_classes()
    assert len(classes) >= 30  # the walk really found them (there were ~33 at issue 11)
    outside = sorted(name for name, cls in classes.items() if not issubclass(cls, IlludexError))
    assert outside == []


@pytest.mark.parametrize(("name", "kind"), [
    ("LibraryError", InvalidInput),
    ("QuerySyntaxError", InvalidInput),
    ("QueryPlanError", InvalidInput),
    ("TagEditError", InvalidInput),
    ("VocabularyError", InvalidInput),
    ("ClusterError", InvalidInput),
    ("DatasetError", InvalidInput),
    ("TeachError", InvalidInput),
    ("InsecureBindError", InvalidInput),
    ("ModelError", Unavailable),
    ("DeviceUnavailable", Unavailable),
    ("MilvusUnavailable", Unavailable),
    ("JobBusyError", Conflict),
    ("JournalError", Conflict),
])
def test_errors_a_person_meets_have_a_kind(name: str, kind: type[IlludexError]) -> None:
    # By class name: modules move (issue 11 split several), the kinds must not.
    [found] = [c for dotted, c in project_exception_classes().items()
               if dotted.rpartition(".")[2] == name]
    assert issubclass(found, kind)


def test_the_kinds_are_distinct_and_keep_their_message() -> None:
    kinds = (InvalidInput, NotFound, Conflict, Unavailable)
    for kind in kinds:
        assert [k for k in kinds if issubclass(kind, k)] == [kind]
    error = LibraryError("no picture with id 7 in the catalog")
    assert str(error) == "no picture with id 7 in the catalog"
    assert not issubclass(IlludexError, ValueError)  # a bug's ValueError is no user error
