"""Exported twins on disk: where a model's ``.tflite`` (or ``.onnx``) file lives, and whether it came from this exact file."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from fer_core.errors import ModelError


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (remembered while the file's size and modification time stay
    the same, so the model list of every Streamlit rerun does not hash the models again)."""
    stat = os.stat(path)
    return _sha256_of_version(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256_of_version(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def litert_path_for(model_path: str | os.PathLike) -> Path:
    """Where the LiteRT export of ``x.keras`` lives: ``x.tflite`` beside it."""
    return Path(model_path).with_suffix(".tflite")


def onnx_path_for(model_path: str | os.PathLike) -> Path:
    """Where the ONNX export of ``x.keras`` lives: ``x.onnx`` beside it."""
    return Path(model_path).with_suffix(".onnx")


def matching_litert_file(model_path: str | os.PathLike, card: dict) -> Path | None:
    """The ``.tflite`` export of this exact ``.keras`` file, or None when absent or stale."""
    record = card.get("litert") or {}
    path = litert_path_for(model_path)
    if not path.is_file() or not record.get("keras_sha256"):
        return None
    return path if record["keras_sha256"] == file_sha256(model_path) else None


def verify_litert_file(path: Path, card: dict) -> None:
    """ModelError unless the ``.tflite`` file has the SHA-256 its export recorded (a damaged or
    altered file is never run); an export that recorded none is taken as it is."""
    recorded = (card.get("litert") or {}).get("tflite_sha256")
    if recorded and recorded != file_sha256(path):
        raise ModelError(f"{path}: the file does not match the SHA-256 recorded at export (damaged or "
                         "changed since)")


def litert_available() -> bool:
    """Whether the ``ai-edge-litert`` runtime is installed."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True
