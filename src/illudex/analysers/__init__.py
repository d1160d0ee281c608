"""Analysers: units that turn decoded pictures into catalog rows and vectors.

wd_tagger (booru tags + embedding), clip (image/text embeddings), preprocess (what decode
workers run), runner (the batch pipeline that feeds them and stores their results).
"""
