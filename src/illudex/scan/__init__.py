"""Scanning: the walk (walk.py), the per-file work in worker processes (worker.py) and the
engine that brings the catalog in line with the folders (engine.py)."""
