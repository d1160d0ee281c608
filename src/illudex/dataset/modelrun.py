"""How a dataset step runs a model: the shared machinery of the model steps.

Each model step is an item step: it runs in this process, loads its model once (through
illudex's model registry: a name, a folder or an .onnx file in `model`), decodes
pictures in worker processes (`prepared_batches`), runs the model on batches (or, on another
engine such as Ray, hands both to it: `model_outputs`, `ModelUse`) and keeps
what it said per picture key and parameters (`cached_values`: the step cache, and for
catalog pictures the catalog's model_results through `Stored`), so a re-run runs no
model. What a step found goes into the item's metadata (`detections`, `class`,
`quality`, `ccip`, `upscaled`), which the `files` export writes to each picture's sidecar.

The steps: `detectsteps` (count faces, heads, people; area filters), `cropsteps` (crops
and splits), `classsteps` (picture class, quality score), `characterstep` (CCIP),
`upscalestep`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from illudex.dataset.errors import DatasetError
from illudex.dataset.items import Dropped, Item
from illudex.dataset.step import ItemStep

if TYPE_CHECKING:
    from PIL import Image

    from illudex.dataset.cache import Cache

Outcome = tuple[list[Item], list[Dropped]]
BATCH = 8  # pictures decoded and run together


def recipe_key(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def model_id(name: str) -> str:
    from illudex.models.registry import model_source

    return model_source(name)


def open_upright(path: str) -> Image.Image:
    from illudex.analysers.modelprep import open_upright as opened

    return opened(path)


def decode_workers(context: Any) -> int:
    """Decode processes beside the model: one fewer than the pipeline's workers (the
    model's own threads take a core), at most 4; 0 decodes in this process."""
    return max(0, min(4, int(getattr(context, "workers", 1) or 1) - 1))


def prepared_batches(items: Sequence[Item], prep: Any, workers: int
                     ) -> Iterator[tuple[list[Any], list[tuple[int, int]]]]:
    """(prepared inputs, picture sizes) per batch of BATCH, decoded by `workers`."""
    from illudex.analysers.modelprep import prepare_many

    batch: list[Any] = []
    sizes: list[tuple[int, int]] = []
    for value, size, error in prepare_many([i.file for i in items], prep, workers):
        if error:
            raise DatasetError(error)
        batch.append(value)
        sizes.append(size)
        if len(batch) == BATCH:
            yield batch, sizes
            batch, sizes = [], []
    if batch:
        yield batch, sizes


def load_analyser(where: str, name: str, **options: Any) -> Any:
    """`module:Class`.load(name, **options): a module-level loader, so that
    `partial(load_analyser, …)` pickles to wherever an engine runs inference."""
    import importlib

    module, cls = where.split(":")
    return getattr(importlib.import_module(module), cls).load(name, **options)


def run_method(method: str, args: tuple[Any, ...], model: Any, batch: list[Any]) -> list[Any]:
    """model.method(batch, *args), one value per input (picklable with `partial`)."""
    return list(getattr(model, method)(batch, *args))


@dataclass(frozen=True)
class ModelUse:
    """How a step runs its model on a batch of prepared inputs, in a form an engine can
    ship to its inference workers: `load()` loads the model there, `infer(model, batch)`
    gives one value per input."""

    load: Callable[[], Any]
    infer: Callable[[Any, list[Any]], Iterable[Any]]


def model_outputs(items: Sequence[Item], model: Any, prep: Any, use: ModelUse, workers: int,
                  context: Any = None) -> Iterator[tuple[Any, tuple[int, int]]]:
    """(what the model said, the picture's full size) per item, in order: on the build's
    engine (`lib.limits.engine`: Ray) when it has one, else here with `workers` decoding. Both
    decode with `model.prep` through `modelprep.prepare_file`, so the values match."""
    engine = getattr(getattr(getattr(context, "lib", None), "limits", None), "engine", None)
    if engine is None:
        for batch, sizes in prepared_batches(items, prep, workers):
            yield from zip(use.infer(model, batch), sizes, strict=True)
        return
    for value, size, error in engine.model_outputs([i.file for i in items], prep,
                                                   use.load, use.infer, BATCH):
        if error:
            raise DatasetError(error)
        yield value, size


@dataclass(frozen=True)
class Stored:
    """Where a step keeps what its model found on catalog pictures: the catalog's
    model_results, by digest, kind and recipe, so that another pipeline (with its own
    steps before this one) and search (`faces:1`, `class:comic`) need no model."""

    conn: sqlite3.Connection
    kind: str  # face, head, person, halfbody, class, quality
    recipe: str  # JSON: the model's source and the step's settings
    model: str  # as the step names it

    @staticmethod
    def of(context: Any, kind: str, model: str, *settings: Any) -> Stored | None:
        lib = getattr(context, "lib", None)
        if lib is None:
            return None
        recipe = json.dumps([model_id(model), *settings])
        return Stored(lib.conn, kind, recipe, str(model))

    def load(self, items: Sequence[Item]) -> dict[str, Any]:
        from illudex.catalog import modelresults

        return modelresults.load(self.conn, [i.digest for i in items if in_catalog(i)],
                                 self.kind, self.recipe)

    def save(self, pairs: list[tuple[Item, Any]]) -> None:
        from illudex.catalog import modelresults

        modelresults.store(self.conn, self.kind, self.recipe, self.model, (
            catalog_result(item.digest, self.kind, value) for item, value in pairs
            if in_catalog(item)))


def in_catalog(item: Item) -> bool:
    """A catalog picture with its pixels unchanged: what the model saw is the picture."""
    return item.image_id is not None and item.key == item.digest


def catalog_result(digest: str, kind: str, value: Any) -> Any:
    from illudex.catalog.modelresults import CLASS_KIND, QUALITY_KIND, Result

    if kind == QUALITY_KIND:
        return Result(digest, value, label=value.get("label"))
    if kind == CLASS_KIND:
        return Result(digest, value, label=max(value, key=value.__getitem__) if value else None)
    return Result(digest, value, count=len(value["boxes"]))


def cached_values(cache: Cache, items: Sequence[Item], record: Callable[[Item], str],
            compute: Callable[[list[Item]], Iterable[Any]],
            stored: Stored | None = None) -> list[Any]:
    """Per item: the value the catalog or the cache holds, or computed for the missing
    ones, in order; each is kept as it comes (the catalog's a batch at a time), so a
    run stopped half-way keeps what it finished."""
    known = stored.load(items) if stored else {}
    found = [known.get(i.digest) if in_catalog(i) else None for i in items]
    found = [f if f is not None else cache.get(record(i)) for i, f in zip(items, found,
                                                                          strict=True)]
    # Found in the cache of a run before the catalog kept them: kept there now.
    pending = [(i, f) for i, f in zip(items, found, strict=True)
               if f is not None and in_catalog(i) and i.digest not in known]
    missing = [n for n, f in enumerate(found) if f is None]
    if missing:
        for n, value in zip(missing, compute([items[n] for n in missing]), strict=True):
            cache.put(record(items[n]), value)
            found[n] = value
            pending.append((items[n], value))
            if stored and len(pending) >= BATCH:
                stored.save(pending)
                pending = []
    if stored:
        stored.save(pending)
    return found


def list_param(step: ItemStep, key: str) -> list[str]:
    """A list parameter also written as one string ("comic" for ["comic"])."""
    value = step.values[key]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"step {step.name}: {key} is a list of strings, not {value!r}")
    step.values[key] = list(value)
    return step.values[key]


class ModelStep(ItemStep):
    """A step whose model problems (missing, corrupt) end the run with one message."""

    def run(self, items: list[Item], context: Any) -> Outcome:
        from illudex.models.errors import ModelError

        try:
            return self.apply(items, context)
        except ModelError as e:
            raise DatasetError(f"step {self.name}: {e}") from e

    def apply(self, items: list[Item], context: Any) -> Outcome:
        raise NotImplementedError
