"""The name and version of the per-picture quality record (`illudex.dupes.quality`),
readable without numpy: the finder keys its cached keeper verdicts on them."""

NAME = "quality"  # analyser name in the catalog's features table
VERSION = 2  # bump when the record's bytes or meaning change (2: map at the features' size)
