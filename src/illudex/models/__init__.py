"""Models: the registry of known names, Hugging Face downloads, ONNX Runtime sessions."""

from illudex.models.errors import ModelCorrupt, ModelError, ModelMismatch, ModelUnavailable

__all__ = ["ModelCorrupt", "ModelError", "ModelMismatch", "ModelUnavailable"]
