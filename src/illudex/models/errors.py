"""Errors about models: missing, corrupt or mismatched files, each with what to do about it
(all `Unavailable`: the request is fine, this machine lacks a usable model or device)."""

from __future__ import annotations

from illudex.errors import Unavailable


class ModelError(Unavailable):
    """Base for every model problem; the message is meant for a person."""


class ModelUnavailable(ModelError):
    """The model could not be found locally and could not be downloaded."""


class ModelCorrupt(ModelError):
    """A model file exists but cannot be read (truncated download, wrong file)."""


class ModelMismatch(ModelCorrupt):
    """The model's files do not belong together (e.g. output width vs. tag list)."""


class DeviceUnavailable(ModelError):
    """A device that this machine or this onnxruntime cannot run on."""
