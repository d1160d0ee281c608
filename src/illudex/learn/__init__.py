"""Teaching tags from a few examples: a calibrated classifier on stored embeddings.

`teach.teach` fits and scores, `apply.apply_learned` writes `learned:TAG`. Nothing is
imported here: the CLI imports `errors` on every start, and numpy/scikit-learn only load
when a tag is taught.
"""
