"""The model card of a trained network: what was trained, on what, how, how long, and how well."""

from __future__ import annotations

import os
from dataclasses import asdict, fields
from datetime import datetime, timezone
from pathlib import Path

from fer_core.data.dataset import Dataset
from fer_core.labels import EMOTIONS
from fer_core.metrics.card_scores import CardOptions
from fer_core.training.config import TrainConfig
from fer_core.training.hardware import hardware_description


def reproduce_command(config: TrainConfig, data_path: str, out_path: str | os.PathLike | None) -> str:
    """The ``python -m fer_core train`` command line that trains this config again."""
    defaults = TrainConfig()
    parts = ["python -m fer_core train", f"--data {data_path}", f"--out {out_path or 'MODEL.keras'}"]
    for f in fields(TrainConfig):
        value = getattr(config, f.name)
        if f.name != "arch" and value == getattr(defaults, f.name):
            continue
        text = ("yes" if value else "no") if isinstance(value, bool) else str(value)
        parts.append(f"--{f.name.replace('_', '-')} {text}")
    return " ".join(parts)


def build_card(model, config: TrainConfig, data: Dataset, train_data: Dataset, val_data: Dataset, val_name: str,
               history: dict, seconds: float, *, best_epoch: int | None, stopped_by_request: bool,
               epochs_done: int, card_options: CardOptions = CardOptions()) -> dict:
    """The model card: what was trained, on what, how, how long, and how well."""
    import keras

    from fer_core.metrics.card_scores import card_scores

    scores = card_scores(model, train_data, val_data, train_name=config.train_split, val_name=val_name,
                         options=card_options)
    return {
        "name": config.arch,
        "architecture": config.arch,
        "classes": list(EMOTIONS),
        "input": "48x48x1 grayscale, pixel values 0..255 (scaled inside the model)",
        "parameters": int(model.count_params()),
        "config": asdict(config),
        "data": {"source": Path(data.source).name, "fingerprint": data.fingerprint,
                 "train_rows": len(train_data), "validation": val_name, "validation_rows": len(val_data)},
        "training": {
            "seconds": round(seconds, 1), "epochs_run": epochs_done, "best_epoch": best_epoch,
            "stopped_by_request": stopped_by_request,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "hardware": hardware_description(),
            "backend": keras.backend.backend(), "keras": keras.__version__,
        },
        "history": history,
        **scores,
        "validation_split": val_name,
    }


def lineage(parent_path: str) -> dict:
    """What a parent model's card (the starting weights or the teacher) says about how it was made."""
    from fer_core.artifacts.cards import read_card

    parent = read_card(parent_path)
    keep = ("command", "training", "initialised_from", "distilled_from")
    return {"model": str(parent_path), **{k: parent[k] for k in keep if k in parent},
            "validation_accuracy": parent.get("metrics", {}).get(parent.get("validation_split", ""), {}).get("accuracy")}
