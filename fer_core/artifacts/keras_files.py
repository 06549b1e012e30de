"""Loading and saving ``.keras`` models and their JSON model cards, safely and atomically."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from fer_core.artifacts.atomic_files import replace_atomically
from fer_core.artifacts.cards import card_path, write_json_atomically
from fer_core.errors import FerError, ModelError
from fer_core.geometry import INPUT_SHAPE
from fer_core.labels import NUM_CLASSES
from fer_core.limits import DEFAULT_LIMITS, Limits

PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def load_keras_model(path: str | os.PathLike):
    """Load a ``.keras`` file in safe mode and check it maps 48x48x1 faces to 7 probabilities.

    A model whose weights were stored in float16 (``fer_core.nets.weights_dtype``) comes back computing in float32.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:2] in PICKLE_MAGIC or path.suffix.lower() in (".pkl", ".pickle", ".p", ".joblib"):
        raise ModelError(f"{path}: this is a pickle file; pickles run code when loaded, so they are "
                         "refused. Save the model with model.save('name.keras') instead")
    if path.suffix.lower() != ".keras" or not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a Keras .keras model file (expected a zip archive written by "
                         "model.save('name.keras'))")
    check_archive_sizes(path)
    from fer_core.quiet import import_keras

    keras = import_keras()  # only now: refusing a wrong file should not wait for TensorFlow
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a broken archive
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise ModelError(f"{path}: the model cannot be loaded ({reason})") from None
    check_contract(model, path)
    from fer_core.nets.weights_dtype import weights_dtype, with_weights_dtype

    if weights_dtype(model) != "float32":  # stored in 16 bits to save space; computed in float32
        model = with_weights_dtype(model, "float32")
    return model


def check_archive_sizes(path: Path, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a ``.keras`` archive whose members would unpack past the limits (a zip bomb), before
    Keras reads any of it."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise ModelError(f"{path}: not a readable .keras archive ({error})") from None
    total = sum(member.file_size for member in members)
    config = sum(member.file_size for member in members if member.filename == "config.json")
    if total > limits.max_model_bytes or len(members) > 1000:
        raise ModelError(f"{path}: unpacks to {total / 1e6:,.0f} MB in {len(members)} files, over the "
                         f"{limits.max_model_bytes / 1e6:,.0f} MB limit for a model; refused")
    if config > limits.max_model_config_bytes:
        raise ModelError(f"{path}: its config.json unpacks to {config / 1e6:,.0f} MB, over the "
                         f"{limits.max_model_config_bytes / 1e6:,.0f} MB limit; refused")


def check_contract(model, where: str | os.PathLike) -> None:
    """Raise ModelError unless the model takes (None, 48, 48, 1) and returns (None, 7)."""
    input_shape = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    output_shape = tuple(model.output_shape[1:]) if not isinstance(model.output_shape, list) else None
    if input_shape != INPUT_SHAPE:
        raise ModelError(f"{where}: the model takes input of shape {model.input_shape}; expected "
                         f"(None, {', '.join(map(str, INPUT_SHAPE))}) grayscale 48x48 faces")
    if output_shape != (NUM_CLASSES,):
        raise ModelError(f"{where}: the model outputs shape {model.output_shape}; expected "
                         f"(None, {NUM_CLASSES}) probabilities for the seven FER2013 classes")


def check_output_path(out: Path, *, overwrite: bool, error: type[FerError] = ModelError,
                      how_to_replace: str = "pass --overwrite") -> None:
    """Refuse an output that is not a ``.keras`` file, or that would replace a model without ``overwrite``."""
    if out.suffix != ".keras":
        raise error(f"{out}: the output must be a .keras file")
    if out.exists() and not overwrite:
        raise error(f"{out}: a model with this name exists; choose another name or {how_to_replace}")


def save_model_atomically(model, path: str | os.PathLike) -> Path:
    """Write ``model`` to ``path`` via a temporary file and a rename, so a crash never leaves half a file."""
    return replace_atomically(path, model.save)


def save_model_with_card(model, card: dict, path: str | os.PathLike) -> Path:
    """Write a model and its card so that neither replaces a good file unless both were written.

    Both go to temporary files first, and the model file is loaded back in safe mode; only then
    are they renamed into place. On a full disk, an unwritable folder or a file that does not load,
    ModelError says so and the existing model and card are unchanged.
    """
    path = Path(path)
    staging = path.with_name(f".{path.stem}.staging.keras")
    try:
        save_model_atomically(model, staging)
        load_keras_model(staging)  # only a file that loads may replace a good one
        staged_card = write_json_atomically(card, card_path(staging))
        os.replace(staging, path)
        os.replace(staged_card, card_path(path))
    except OSError as error:
        existed = "the existing model is unchanged" if path.exists() else "nothing was written"
        raise ModelError(f"{path}: cannot write the model ({error.strerror or error}); {existed}") from None
    finally:
        staging.unlink(missing_ok=True)
        card_path(staging).unlink(missing_ok=True)
    return path
