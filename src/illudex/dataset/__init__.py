"""Datasets: sources, steps and exporters that turn pictures into training sets.

Build one from a TOML spec (`pipeline.build(lib, load_spec(path))`, `illudex dataset
build`) or in Python (`Library.dataset(...)`, see `chain`). Modules: `spec` (the TOML
form), `sources`, `step` (what a step is: `PixelStep`, `ItemStep`), `registry` (steps
by name, entry points `illudex.dataset_steps`), the built-in steps: `pixelsteps`,
`itemsteps`, `captionstep`, `tagstep`, and those with a model (`modelrun` is what they
share): `detectsteps`, `cropsteps`, `classsteps`, `characterstep`, `upscalestep`; `work`
(one picture in a worker), `cache`, `pipeline`, `exporters` + `kohya`, `report`; the
booru source is `booru` with its `booru_*` helpers.
"""
