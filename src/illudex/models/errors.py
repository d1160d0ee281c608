"""Errors about models: missing, corrupt or mismatched files, each with what to do about it."""

from __future__ import annotations


class ModelError(Exception):
    """Base for every model problem; the message is meant for a person."""


class ModelUnavailable(ModelError):
    """The model could not be found locally and could not be downloaded."""


class ModelCorrupt(ModelError):
    """A model file exists but cannot be read (truncated download, wrong file)."""


class ModelMismatch(ModelCorrupt):
    """The model's files do not belong together (e.g. output width vs. tag list)."""


class DeviceUnavailable(ModelError, ValueError):
    """A device that this machine or this onnxruntime cannot run on (ValueError: a bad
    request, as the web API maps it)."""
