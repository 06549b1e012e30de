"""One exception type per concern, each carrying a message a user can act on."""

from __future__ import annotations

MAX_MESSAGE_CHARS = 400  # every message a user sees is one line of at most this many characters


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters (a file name or an excerpt may be long)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class FerError(Exception):
    """Base class of every error the project raises on purpose for bad input; its message is one
    short line, however long the names or excerpts put into it."""

    def __str__(self) -> str:
        return one_line(super().__str__())


class DatasetError(FerError):
    """A dataset file or folder is missing, unreadable or malformed."""


class ModelError(FerError):
    """A model file is missing, corrupt, unsafe, or does not fit the 48x48x1 -> 7 contract."""


class ImageError(FerError):
    """An uploaded image cannot be decoded or breaks a limit."""


class TrainingError(FerError):
    """A training run cannot start or cannot save its result."""


class StoppedBeforeFirstEpoch(TrainingError):
    """Training was asked to stop before any epoch finished, so there is no model to save."""
