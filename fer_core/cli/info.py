"""``info``: a summary of what a dataset, a model file or a training run folder holds."""

from __future__ import annotations

import json
import os
from pathlib import Path

from fer_core.errors import FerError


def describe(path: str | os.PathLike) -> dict:
    """A JSON-ready summary of a dataset (rows per split and class), a model (shape, card) or a run."""
    path = Path(path)
    if not path.exists():
        raise FerError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix.lower() in (".keras", ".pkl", ".pickle", ".h5"):
        return describe_model(path)
    if path.is_dir() and (path / "state.json").is_file():
        return describe_run(path)
    if path.is_dir() and any(path.glob("*/state.json")):
        return describe_runs(path)
    return describe_dataset(path)


def describe_run(path: Path) -> dict:
    """A training run folder: how far it got, how good its best epoch is, how to continue it."""
    from fer_core.training.runs import summarize_run

    run = summarize_run(path)
    if run is None:
        raise FerError(f"{path}: the run folder has no readable state.json and checkpoint; delete it to start over")
    out = str(run.out_path) if run.out_path else "MODEL.keras"
    return {"kind": "run", "path": str(path), "architecture": run.config.get("arch"),
            "epochs_done": run.epochs_done, "epochs": run.epochs, "finished": run.finished,
            "best_val_accuracy": run.best_accuracy, "best_epoch": run.best_epoch, "out": out,
            "data_fingerprint": run.data_fingerprint, "trained_by_process": run.trained_by,
            "continue_with": None if run.finished or run.trained_by else
            f"python -m fer_core train --data DATA --out {out} --run-dir {path} --resume"}


def describe_runs(path: Path) -> dict:
    """A folder of run folders (``runs/``): the unfinished ones, newest first."""
    from fer_core.training.runs import unfinished_runs

    return {"kind": "runs", "path": str(path),
            "unfinished": [describe_run(run.run_dir) for run in unfinished_runs(path)]}


def describe_dataset(path: Path) -> dict:
    """Rows, splits, per-class counts and fingerprint of a dataset."""
    from fer_core.data.loading import load_dataset

    data = load_dataset(path)
    return {"kind": "dataset", "path": str(path), "rows": len(data), "fingerprint": data.fingerprint,
            "splits": {split: int((data.splits == split).sum()) for split in data.split_names},
            "class_counts": data.class_counts(), "skipped_rows": data.skipped}


def describe_model(path: Path) -> dict:
    """Architecture, parameter count, shapes and the headline metrics of a model's card."""
    from fer_core.artifacts.cards import read_card
    from fer_core.artifacts.keras_files import load_keras_model

    model = load_keras_model(path)
    card = read_card(path)
    split = card.get("validation_split")
    metrics = card.get("metrics", {}).get(split, {}) if split else {}
    return {"kind": "model", "path": str(path), "name": model.name, "parameters": int(model.count_params()),
            "input_shape": list(model.input_shape), "output_shape": list(model.output_shape),
            "size_mb": round(path.stat().st_size / 1e6, 2),
            "weights_dtype": card.get("config", {}).get("weights_dtype", "float32"), "card": bool(card),
            "architecture": card.get("architecture"), "input_blur_sigma": card.get("input_blur", {}).get("sigma"),
            "validation_split": split,
            "accuracy": metrics.get("accuracy"), "macro_f1": metrics.get("macro_f1"),
            "temperature": card.get("temperature", 1.0), "training": card.get("training"),
            "members": [member.get("file") for member in card.get("members", [])],
            "litert": _export_summary(path, card, "litert"), "onnx": _export_summary(path, card, "onnx")}


def _export_summary(path: Path, card: dict, kind: str) -> dict | None:
    """The model's ``kind`` export as the card records it (None without one), and whether it is up to date."""
    from fer_core.artifacts.exports import matching_export

    record = card.get(kind)
    if not record:
        return None
    return {"file": record.get("file"), "quantization": record.get("quantization", "none"),
            "size_mb": round(record.get("bytes", 0) / 1e6, 2),
            "up_to_date": matching_export(path, card, kind) is not None, "accuracy": record.get("accuracy")}


def add_parser(commands) -> None:
    parser = commands.add_parser("info", help="what a dataset, model file or training run holds")
    parser.add_argument("path", help="a dataset (CSV, .gz, folder), a .keras model, a run folder (runs/NAME) "
                                     "or runs/ (its unfinished runs)")


def run(args) -> int:
    print(json.dumps(describe(args.path), indent=2))
    return 0
