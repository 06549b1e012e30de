"""``info``: a summary of what a dataset or a model file holds."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import FerError


def describe(path: str | os.PathLike) -> dict:
    """A JSON-ready summary of a dataset (rows per split and class) or a model (shape, card)."""
    path = Path(path)
    if not path.exists():
        raise FerError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix.lower() in (".keras", ".pkl", ".pickle", ".h5"):
        return describe_model(path)
    return describe_dataset(path)


def describe_dataset(path: Path) -> dict:
    """Rows, splits, per-class counts and fingerprint of a dataset."""
    from .data import load_dataset

    data = load_dataset(path)
    return {"kind": "dataset", "path": str(path), "rows": len(data), "fingerprint": data.fingerprint,
            "splits": {split: int((data.splits == split).sum()) for split in data.split_names},
            "class_counts": data.class_counts(), "skipped_rows": data.skipped}


def describe_model(path: Path) -> dict:
    """Architecture, parameter count, shapes and the headline metrics of a model's card."""
    from .modelio import load_keras_model, read_card

    model = load_keras_model(path)
    card = read_card(path)
    split = card.get("validation_split")
    metrics = card.get("metrics", {}).get(split, {}) if split else {}
    return {"kind": "model", "path": str(path), "name": model.name, "parameters": int(model.count_params()),
            "input_shape": list(model.input_shape), "output_shape": list(model.output_shape),
            "size_mb": round(path.stat().st_size / 1e6, 2), "card": bool(card),
            "architecture": card.get("architecture"), "input_blur_sigma": card.get("input_blur", {}).get("sigma"),
            "validation_split": split,
            "accuracy": metrics.get("accuracy"), "macro_f1": metrics.get("macro_f1"),
            "temperature": card.get("temperature", 1.0), "training": card.get("training"),
            "members": [member.get("file") for member in card.get("members", [])]}
