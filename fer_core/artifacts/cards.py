"""Model cards: the JSON file beside each model that says what it is, how it was made and how well it does."""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from fer_core.artifacts.atomic_files import replace_atomically
from fer_core.data.dataset import Dataset
from fer_core.errors import ModelError
from fer_core.labels import EMOTIONS

MAX_CARD_BYTES = 20_000_000  # a model card (the shipped one: 0.2 MB)


def card_path(model_path: str | os.PathLike) -> Path:
    """The model card that sits beside a model: ``x.keras`` -> ``x.json``."""
    return Path(model_path).with_suffix(".json")


def check_card(card: dict, where: str | os.PathLike, model=None) -> None:
    """Raise ModelError when the model card describes another model than the one beside it.

    The card's classes must be the FER2013 classes in their order; with the Keras ``model`` at hand,
    its parameter count must match the card's. A card carries the temperature and the "uncertain"
    threshold used at prediction, so a stale one would silently distort every answer.
    """
    card_file = card_path(where)
    classes = card.get("classes")
    if classes is not None and list(classes) != list(EMOTIONS):
        raise ModelError(f"{card_file}: the model card lists classes {classes}; expected {list(EMOTIONS)} "
                         "(the card does not belong to this model; retrain, or delete the card)")
    parameters = card.get("parameters")
    if model is not None and parameters is not None and int(parameters) != model.count_params():
        raise ModelError(f"{card_file}: the model card describes a model with {int(parameters):,} parameters, "
                         f"but {Path(where).name} has {model.count_params():,} (the card belongs to another "
                         "model; retrain, or delete the card)")


def write_json_atomically(data: Any, path: str | os.PathLike) -> Path:
    """Write JSON (indented, with a final newline) via a temporary file and a rename."""
    def write(temporary: str) -> None:
        with open(temporary, "w") as stream:
            json.dump(data, stream, indent=2)
            stream.write("\n")

    return replace_atomically(path, write)


def read_card(model_path: str | os.PathLike) -> dict:
    """The model card beside ``model_path`` ({} when there is none); ModelError when it is not JSON."""
    path = card_path(model_path)
    if not path.exists():
        return {}
    if path.stat().st_size > MAX_CARD_BYTES:
        raise ModelError(f"{path}: {path.stat().st_size / 1e6:,.0f} MB is over the "
                         f"{MAX_CARD_BYTES / 1e6:,.0f} MB limit for a model card")
    try:
        card = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelError(f"{path}: the model card is not valid JSON ({error})") from None
    if not isinstance(card, dict):
        raise ModelError(f"{path}: the model card must be a JSON object")
    return card


INPUT_DESCRIPTION = "48x48x1 grayscale, pixel values 0..255 (scaled inside the model)"


def card_header(*, name: str, architecture: str, model, config: dict, data: Dataset, train_data: Dataset,
                validation: str, validation_data: Dataset) -> dict:
    """The entries every model card starts with: what the model is, what it takes, and the data it was made on."""
    return {
        "name": name,
        "architecture": architecture,
        "classes": list(EMOTIONS),
        "input": INPUT_DESCRIPTION,
        "parameters": int(model.count_params()),
        "config": config,
        "data": {"source": Path(data.source).name, "fingerprint": data.fingerprint, "train_rows": len(train_data),
                 "validation": validation, "validation_rows": len(validation_data)},
    }


def command_line(command: str, *arguments, **options) -> str:
    """The ``python -m fer_core COMMAND`` line a card records to make its model again: the arguments,
    then ``--option value`` for each option (underscores as dashes, booleans as yes / no)."""
    parts = [f"python -m fer_core {command}", *map(str, arguments)]
    for name, value in options.items():
        text = ("yes" if value else "no") if isinstance(value, bool) else str(value)
        parts.append(f"--{name.replace('_', '-')} {text}")
    return " ".join(parts)


def changed_settings(config, defaults, *, keep: tuple[str, ...] = (), skip: tuple[str, ...] = ()) -> dict:
    """The fields of a settings dataclass that differ from ``defaults`` (always those in ``keep``,
    never those in ``skip``), in their declared order."""
    changed = {}
    for f in fields(config):
        value = getattr(config, f.name)
        if f.name not in skip and (f.name in keep or value != getattr(defaults, f.name)):
            changed[f.name] = value
    return changed
