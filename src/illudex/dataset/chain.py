"""The pipeline in Python, chained like waifuc's `source.attach(...).export(...)`:

    report = (lib.dataset("1girl solo -monochrome")
              .attach("mode-convert")
              .attach("dedupe")
              .attach("align-min-size", size=768)
              .export("kohya", "~/datasets/surtr", name="surtr", repeats=10))
    report.as_json()   # {"exported": …, "dropped": {step: n}, "out": …, "errors": […]}
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from illudex.dataset.spec import ExportSpec, SourceSpec, Spec, StepSpec, parse_spec

if TYPE_CHECKING:
    from illudex.dataset.pipeline import BuildReport
    from illudex.library import Library
    from illudex.progress import ProgressCallback


class Dataset:
    """A source and steps; nothing runs until `export` (or `preview`)."""

    def __init__(self, lib: Library, source: SourceSpec, steps: tuple[StepSpec, ...] = (),
                 reg: SourceSpec | None = None) -> None:
        self.lib, self.source, self.steps, self.reg = lib, source, steps, reg

    def attach(self, use: str, **params: Any) -> Dataset:
        """A new Dataset with one more step (checked now: a bad name fails here)."""
        from illudex.dataset.registry import make_step

        make_step(use, params)
        return Dataset(self.lib, self.source, (*self.steps, StepSpec(use, params)), self.reg)

    def with_reg(self, query: str | None = None, *, paths: list[str] | None = None,
                 name: str = "reg", repeats: int = 1) -> Dataset:
        """Regularisation pictures (a kohya subset with is_reg = true)."""
        reg = SourceSpec(query=query, paths=tuple(paths or ()), name=name, repeats=repeats)
        return Dataset(self.lib, self.source, self.steps, reg)

    def spec(self, format: str = "kohya", dir: str = "", **options: Any) -> Spec:
        parse_spec({"source": {"ids": [0]}, "export": {"format": format, "dir": dir or ".",
                                                         **options}})  # checks the options
        export = dataclasses.replace(ExportSpec(), format=format, dir=dir, **options)
        return Spec(self.source, self.steps, export, self.reg)

    def export(self, format: str, dir: str, *, progress: ProgressCallback | None = None,
               **options: Any) -> BuildReport:
        from illudex.dataset.pipeline import build

        return build(self.lib, self.spec(format, dir, **options), progress=progress)

    def preview(self, format: str = "kohya", dir: str = ".", **options: Any) -> BuildReport:
        """What would be kept and dropped, from what is known without decoding."""
        from illudex.dataset.pipeline import build

        return build(self.lib, self.spec(format, dir, **options), dry_run=True)
