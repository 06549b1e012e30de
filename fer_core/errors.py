"""One exception type per concern, each carrying a message a user can act on."""

from __future__ import annotations


class FerError(Exception):
    """Base class of every error the project raises on purpose for bad input."""


class DatasetError(FerError):
    """A dataset file or folder is missing, unreadable or malformed."""


class ModelError(FerError):
    """A model file is missing, corrupt, unsafe, or does not fit the 48x48x1 -> 7 contract."""


class ImageError(FerError):
    """An uploaded image cannot be decoded or breaks a limit."""


class TrainingError(FerError):
    """A training run cannot start or cannot save its result."""
