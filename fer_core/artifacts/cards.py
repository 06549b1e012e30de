"""Model cards: the JSON file beside each model that says what it is, how it was made and how well it does."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from fer_core.errors import ModelError

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
    from fer_core.labels import EMOTIONS

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
    """Write JSON via a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".json")
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(data, stream, indent=2)
            stream.write("\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


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
