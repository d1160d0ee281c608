"""Datasets: sources, steps and exporters that turn pictures into training sets.

Build one from a TOML spec (`pipeline.build(lib, load_spec(path))`, `illudex dataset
build`) or in Python (`Library.dataset(...)`, see `chain`). Modules: `spec` (the TOML
form), `sources`, `registry` (steps by name, entry points `illudex.dataset_steps`),
`pixelsteps` / `itemsteps` / `captionstep` / `tagstep` (the built-in steps), `work`
(one picture in a worker), `cache`, `pipeline`, `exporters` + `kohya`, `report`; the
booru source is `booru` with its `booru_*` helpers.
"""
