"""Exported twins on disk: where a model's ``.tflite`` (or ``.onnx``) file lives, and whether it came from this exact file."""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ExportKind:
    """One kind of exported twin: its card record, its file and the runtime that runs it."""

    name: str  # the card's record and the engine's name
    suffix: str
    sha_key: str  # the record's SHA-256 of the exported file
    runtime: str  # the module that runs it
    package: str  # what to install for it


QUANTIZATION_SPEED = {"static": 2, "dynamic": 1, "none": 0}  # how exports rank: int8 throughout first

EXPORT_PREFERENCE = ("litert", "onnx")  # between exports quantized alike (float32 LiteRT runs faster)

EXPORT_KINDS = {
    "onnx": ExportKind("onnx", ".onnx", "onnx_sha256", "onnxruntime", "onnxruntime"),
    "litert": ExportKind("litert", ".tflite", "tflite_sha256", "ai_edge_litert.interpreter", "ai-edge-litert"),
}


def export_path_for(model_path: str | os.PathLike, kind: str) -> Path:
    """Where the ``kind`` export of ``x.keras`` lives: ``x.onnx`` or ``x.tflite`` beside it."""
    return Path(model_path).with_suffix(EXPORT_KINDS[kind].suffix)


def matching_export(model_path: str | os.PathLike, card: dict, kind: str) -> Path | None:
    """The ``kind`` export of this exact ``.keras`` file, or None when absent or stale."""
    record = card.get(kind) or {}
    path = export_path_for(model_path, kind)
    if not path.is_file() or not record.get("keras_sha256"):
        return None
    return path if record["keras_sha256"] == file_sha256(model_path) else None


def verify_export(path: Path, card: dict, kind: str) -> None:
    """ModelError unless the exported file has the SHA-256 its export recorded (a damaged or
    altered file is never run); an export that recorded none is taken as it is."""
    recorded = (card.get(kind) or {}).get(EXPORT_KINDS[kind].sha_key)
    if recorded and recorded != file_sha256(path):
        raise ModelError(f"{path}: the file does not match the SHA-256 recorded at export (damaged or "
                         "changed since)")


@functools.cache
def runtime_available(kind: str) -> bool:
    """Whether the runtime of the ``kind`` export (ONNX Runtime, ``ai-edge-litert``) is installed
    (asked once a process: the model list asks on every Streamlit rerun)."""
    try:
        importlib.import_module(EXPORT_KINDS[kind].runtime)
    except ImportError:
        return False
    return True


def fastest_exports(model_path: str | os.PathLike, card: dict) -> list[str]:
    """The kinds of up-to-date export of this model whose runtime is installed, fastest first: what
    the ``auto`` engine tries, in order."""
    kinds = [kind for kind in EXPORT_KINDS if runtime_available(kind) and matching_export(model_path, card, kind)]
    return sorted(kinds, key=lambda kind: (-QUANTIZATION_SPEED.get(card[kind].get("quantization", "none"), 0),
                                           EXPORT_PREFERENCE.index(kind)))
