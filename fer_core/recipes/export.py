"""``export``: write a model's LiteRT twin, prove it agrees with Keras, and record it in the model card."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_core.artifacts.litert_files import file_sha256, litert_path_for
from fer_core.errors import ModelError
from fer_core.geometry import INPUT_SHAPE
from fer_core.inference.engines import KerasEngine, LiteRTEngine
from fer_core.quiet import native_stderr_silenced

PARITY_TOLERANCE = 1e-4  # largest allowed |keras - litert| probability difference (float32 export)

QUANTIZED_TOLERANCE = 0.05  # the same for an export with int8 weights

QUANTIZED_MAX_ACCURACY_DROP = 0.005  # an int8 export may lose at most half a point on real faces

QUANTIZATIONS = ("none", "dynamic")


@dataclass(frozen=True)
class ExportConfig:
    """How to write the LiteRT twin of a model."""

    quantize: str = "none"  # none: float32, Keras's numbers | dynamic: int8 weights, float activations
    split: str = "PublicTest"  # where an int8 export is measured against Keras
    samples: int = 64  # random faces the parity check compares
    seed: int = 0


def export_litert(model_path: str | os.PathLike, config: ExportConfig = ExportConfig(), data=None) -> dict:
    """Export ``x.keras`` to ``x.tflite``, prove the two agree, and record it in the model card.

    The export is written to a temporary file, compared with Keras on ``config.samples`` random
    faces (largest difference at most ``PARITY_TOLERANCE``, or ``QUANTIZED_TOLERANCE`` with int8
    weights), and only then moved into place. An int8 export is also measured on the faces of
    ``config.split`` in ``data`` (a ``Dataset``, required then), plain and with flip TTA, and
    refused when it is more than ``QUANTIZED_MAX_ACCURACY_DROP`` less accurate than Keras.
    Returns the card's ``litert`` record.
    """
    from fer_core.artifacts.cards import card_path, read_card, write_json_atomically
    from fer_core.artifacts.keras_files import load_keras_model

    if config.quantize not in QUANTIZATIONS:
        raise ModelError(f"quantization {config.quantize!r} is unknown; choose one of {', '.join(QUANTIZATIONS)}")
    quantized = config.quantize != "none"
    if quantized and data is None:
        raise ModelError(f"{model_path}: an export with int8 weights must be measured on real faces; "
                         f"give the dataset (--data) whose {config.split} split it is checked on")
    faces = data.subset(config.split) if quantized else None  # fail on a wrong split before converting
    model_path = Path(model_path)
    model = load_keras_model(model_path)
    target = litert_path_for(model_path)
    tolerance = QUANTIZED_TOLERANCE if quantized else PARITY_TOLERANCE
    with tempfile.TemporaryDirectory(dir=model_path.parent) as work:
        candidate = Path(work) / target.name
        write_litert(model, candidate, quantize=quantized)
        x = np.random.default_rng(config.seed).integers(0, 256, (config.samples, *INPUT_SHAPE)).astype(np.float32)
        difference = float(np.abs(np.asarray(model(x, training=False)) - LiteRTEngine(candidate)(x)).max())
        if difference > tolerance:
            raise ModelError(f"{model_path}: the LiteRT export differs from Keras by {difference:.2e} "
                             f"(> {tolerance:.0e}); not written")
        record = {"file": target.name, "keras_sha256": file_sha256(model_path), "tflite_sha256": file_sha256(candidate),
                  "quantization": config.quantize, "max_difference": difference}
        if quantized:
            record["accuracy"] = _compare_accuracy(KerasEngine(model), LiteRTEngine(candidate), faces, config.split)
            _refuse_accuracy_loss(record["accuracy"], model_path)
        os.chmod(candidate, 0o644)
        shutil.move(candidate, target)
    record["bytes"] = target.stat().st_size
    card = read_card(model_path)
    if card:
        write_json_atomically({**card, "litert": record}, card_path(model_path))
    return record


def _compare_accuracy(keras_engine, litert_engine, faces, split: str) -> dict:
    """Accuracy of both engines on ``faces``, plain and with flip TTA."""
    from fer_core.metrics.probabilities import predict_probabilities

    result = {"split": split, "n": len(faces.labels)}
    for name, engine in (("keras", keras_engine), ("litert", litert_engine)):
        for tta in (False, True):
            predicted = predict_probabilities(engine, faces.images, tta=tta).argmax(axis=1)
            result[f"{name}{' (flip TTA)' if tta else ''}"] = float((predicted == faces.labels).mean())
    return result


def _refuse_accuracy_loss(accuracy: dict, model_path: Path) -> None:
    for view in ("", " (flip TTA)"):
        drop = accuracy[f"keras{view}"] - accuracy[f"litert{view}"]
        if drop > QUANTIZED_MAX_ACCURACY_DROP:
            raise ModelError(f"{model_path}: with int8 weights the model is {100 * drop:.2f} points less accurate on "
                             f"{accuracy['split']}{view} than in Keras (more than "
                             f"{100 * QUANTIZED_MAX_ACCURACY_DROP:.1f}); not written, export it without --quantize")


def write_litert(model, path: Path, *, quantize: bool = False) -> None:
    """``model.export(path, format="litert")`` with the converter's native log lines silenced;
    ``quantize``: int8 weights (the converter's dynamic-range quantization)."""
    options = {}
    if quantize:
        import tensorflow as tf  # the converter's own option; exporting needs TensorFlow anyway

        options["optimizations"] = [tf.lite.Optimize.DEFAULT]
    try:
        with native_stderr_silenced():
            model.export(str(path), format="litert", verbose=False, **options)
    except Exception as error:  # the converter raises many types
        raise ModelError(f"the LiteRT export failed ({str(error).strip().splitlines()[0][:200]})") from None
