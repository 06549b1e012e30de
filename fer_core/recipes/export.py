"""``export``: write a model's LiteRT or ONNX twin, prove it agrees with Keras, and record it in the model card."""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from fer_core.artifacts.exports import EXPORT_KINDS, export_path_for, file_sha256
from fer_core.backend import tensorflow_installed
from fer_core.errors import ModelError
from fer_core.geometry import INPUT_SHAPE
from fer_core.inference.engines import EXPORT_ENGINES, KerasEngine
from fer_core.quiet import native_stderr_silenced

PARITY_TOLERANCE = 1e-4  # largest allowed |keras - litert| probability difference (float32 export)

QUANTIZED_TOLERANCE = 0.05  # the same for an export with int8 weights

QUANTIZED_MAX_ACCURACY_DROP = 0.005  # an int8 export may lose at most half a point on real faces

QUANTIZATIONS = ("none", "dynamic", "static")

STATIC_FORMATS = ("onnx",)  # int8 activations: ONNX Runtime's; LiteRT's ran no faster than its int8 weights


FORMATS = ("litert", "onnx")


@dataclass(frozen=True)
class ExportConfig:
    """How to write the LiteRT (or ONNX) twin of a model."""

    quantize: str = "none"  # none: float32, Keras's numbers | dynamic: int8 weights | static: int8 throughout (ONNX)
    split: str = "PublicTest"  # where an int8 (or any ONNX) export is measured against Keras
    calibration_split: str = "Training"  # whose faces set the activations' int8 ranges (static)
    calibration_faces: int = 400
    samples: int = 64  # random faces the parity check compares
    seed: int = 0
    format: str = "litert"  # litert: .tflite, what the app runs | onnx: .onnx, for ONNX Runtime (the browser)


@dataclass(frozen=True)
class ExportFormat:
    """One kind of export: its file, how it is written, and the engine that runs it."""

    name: str  # the card's record (``EXPORT_KINDS``) and the accuracy keys
    title: str
    write: Callable  # (model, path, *, quantize, calibration) -> None
    measured_always: bool  # measured on real faces even without int8 weights


def require_tensorflow(what: str) -> None:
    """ModelError unless TensorFlow is installed: the LiteRT and ONNX converters run on it, whichever
    backend Keras computes with (JAX where TensorFlow has no wheels: Python 3.14, Intel Macs)."""
    if not tensorflow_installed():
        if sys.platform == "darwin" and platform.machine() == "x86_64":
            where = "it has no current wheels for Intel Macs); run it on Linux, Windows or an Apple-silicon Mac"
        else:
            where = "it has no wheels for Python 3.14 yet); run it with Python 3.11-3.13 and requirements.txt"
        raise ModelError(f"{what} converts the model with TensorFlow, which is not installed here ({where}")


def export_model(model_path: str | os.PathLike, config: ExportConfig = ExportConfig(), data=None) -> dict:
    """Export ``x.keras`` to its twin (``x.tflite``, or ``x.onnx`` with ``config.format``), prove the
    two agree, and record it in the model card.

    The export is written to a temporary file, compared with Keras on ``config.samples`` random
    faces (largest difference at most ``PARITY_TOLERANCE``, or ``QUANTIZED_TOLERANCE`` with int8
    weights), and only then moved into place. An int8 export, and every ONNX export, is also
    measured on the faces of ``config.split`` in ``data`` (a ``Dataset``, required then), plain and
    with flip TTA, and refused when it is more than ``QUANTIZED_MAX_ACCURACY_DROP`` less accurate
    than Keras. Returns the card's ``litert`` (or ``onnx``) record.
    """
    from fer_core.artifacts.cards import card_path, read_card, write_json_atomically
    from fer_core.artifacts.keras_files import load_keras_model

    if config.quantize not in QUANTIZATIONS:
        raise ModelError(f"quantization {config.quantize!r} is unknown; choose one of {', '.join(QUANTIZATIONS)}")
    if config.format not in FORMATS:
        raise ModelError(f"export format {config.format!r} is unknown; choose one of {', '.join(FORMATS)}")
    if config.quantize == "static" and config.format not in STATIC_FORMATS:
        raise ModelError("--quantize static (int8 activations) is for --format onnx; LiteRT's ran no faster than its "
                         "int8 weights (--quantize dynamic)")
    kind = EXPORT_FORMATS[config.format]
    quantized = config.quantize != "none"
    measured = quantized or kind.measured_always
    if measured and data is None:
        what = "an export with int8 weights" if quantized else f"an {kind.title} export"
        raise ModelError(f"{model_path}: {what} must be measured on real faces; "
                         f"give the dataset (--data) whose {config.split} split it is checked on")
    faces = data.subset(config.split) if measured else None  # fail on a wrong split before converting
    calibration = calibration_faces(data, config) if config.quantize == "static" else None
    model_path = Path(model_path)
    model = load_keras_model(model_path)
    require_tensorflow(f"the {kind.title} export")  # after every check of what was asked for
    target = export_path_for(model_path, kind.name)
    tolerance = QUANTIZED_TOLERANCE if quantized else PARITY_TOLERANCE
    with tempfile.TemporaryDirectory(dir=model_path.parent) as work:
        candidate = Path(work) / target.name
        x = np.random.default_rng(config.seed).integers(0, 256, (config.samples, *INPUT_SHAPE)).astype(np.float32)
        expected = np.asarray(model(x, training=False))  # also builds the model, which an ONNX export needs
        kind.write(model, candidate, quantize=config.quantize, calibration=calibration)
        exported = EXPORT_ENGINES[kind.name](candidate)
        difference = float(np.abs(expected - exported(x)).max())
        if difference > tolerance:
            raise ModelError(f"{model_path}: the {kind.title} export differs from Keras by {difference:.2e} "
                             f"(> {tolerance:.0e}); not written")
        record = {"file": target.name, "keras_sha256": file_sha256(model_path),
                  EXPORT_KINDS[kind.name].sha_key: file_sha256(candidate),
                  "quantization": config.quantize, "max_difference": difference}
        if measured:
            record["accuracy"] = compare_accuracy(KerasEngine(model), exported, faces, config.split, kind.name)
            refuse_accuracy_loss(record["accuracy"], model_path, kind.name)
        os.chmod(candidate, 0o644)
        shutil.move(candidate, target)
    record["bytes"] = target.stat().st_size
    card = read_card(model_path)
    if card:
        write_json_atomically({**card, kind.name: record}, card_path(model_path))
    return record


def calibration_faces(data, config: ExportConfig) -> np.ndarray:
    """``config.calibration_faces`` faces of ``config.calibration_split``, drawn with ``config.seed``:
    what a static export's int8 activation ranges are measured on (never the split it is scored on)."""
    if config.calibration_split == config.split:
        raise ModelError(f"a static export is calibrated on {config.calibration_split} and measured on {config.split}: "
                         "choose two different splits")
    images = data.subset(config.calibration_split).images
    rng = np.random.default_rng(config.seed)
    chosen = rng.choice(len(images), size=min(config.calibration_faces, len(images)), replace=False)
    return images[np.sort(chosen)].reshape(-1, *INPUT_SHAPE).astype(np.float32)


def compare_accuracy(keras_engine, exported_engine, faces, split: str, name: str = "litert") -> dict:
    """Accuracy of both engines on ``faces``, plain and with flip TTA."""
    from fer_core.metrics.probabilities import predict_probabilities

    result = {"split": split, "n": len(faces.labels)}
    for engine_name, engine in (("keras", keras_engine), (name, exported_engine)):
        for tta in (False, True):
            predicted = predict_probabilities(engine, faces.images, tta=tta).argmax(axis=1)
            result[f"{engine_name}{' (flip TTA)' if tta else ''}"] = float((predicted == faces.labels).mean())
    return result


def refuse_accuracy_loss(accuracy: dict, model_path: Path, name: str = "litert") -> None:
    for view in ("", " (flip TTA)"):
        drop = accuracy[f"keras{view}"] - accuracy[f"{name}{view}"]
        if drop > QUANTIZED_MAX_ACCURACY_DROP:
            how = "with int8 weights" if name == "litert" else f"as {name.upper()}"
            raise ModelError(f"{model_path}: {how} the model is {100 * drop:.2f} points less accurate on "
                             f"{accuracy['split']}{view} than in Keras (more than "
                             f"{100 * QUANTIZED_MAX_ACCURACY_DROP:.1f}); not written, export it without --quantize")


def write_litert(model, path: Path, *, quantize: str = "none", calibration: np.ndarray | None = None) -> None:
    """``model.export(path, format="litert")`` with the converter's native log lines silenced;
    ``quantize="dynamic"``: int8 weights (the converter's dynamic-range quantization)."""
    options = {}
    if quantize == "dynamic":
        import tensorflow as tf  # the converter's own option; exporting needs TensorFlow anyway

        options["optimizations"] = [tf.lite.Optimize.DEFAULT]
    try:
        with native_stderr_silenced():
            model.export(str(path), format="litert", verbose=False, **options)
    except Exception as error:  # the converter raises many types
        raise ModelError(f"the LiteRT export failed ({str(error).strip().splitlines()[0][:200]})") from None


def write_onnx(model, path: Path, *, quantize: str = "none", calibration: np.ndarray | None = None) -> None:
    """``model.export(path, format="onnx")`` (tf2onnx) with the converter's log lines silenced, then
    ONNX Runtime's quantization: ``dynamic``, int8 weights; ``static``, int8 weights and activations
    (QDQ, one scale a tensor), the activations' ranges the extremes they reach on ``calibration``."""
    try:
        import tf2onnx  # noqa: F401  (what Keras converts with)
    except ImportError:
        raise ModelError("an ONNX export needs tf2onnx and onnxruntime: pip install -r requirements-dev.txt") from None
    plain = path.with_name(path.stem + ".float32.onnx") if quantize != "none" else path
    try:
        with native_stderr_silenced():
            model.export(str(plain), format="onnx", verbose=False)
        if quantize == "dynamic":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(plain), str(path), weight_type=QuantType.QInt8)
        elif quantize == "static":
            quantize_onnx_statically(plain, path, calibration)
    except Exception as error:  # the converters raise many types
        raise ModelError(f"the ONNX export failed ({str(error).strip().splitlines()[0][:200]})") from None


def quantize_onnx_statically(plain: Path, path: Path, calibration: np.ndarray) -> None:
    """Int8 weights and activations for ONNX Runtime. One scale a tensor, not a channel: on CPUs
    without AVX-512 ONNX Runtime multiplies uint8 by int8 with an instruction that saturates at
    16 bits, and per-channel weights, using their whole range, cost the shipped model 2 points."""
    from onnx import load_model
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Faces(CalibrationDataReader):
        def __init__(self, name: str):
            self._batches = iter([{name: calibration[i:i + 1]} for i in range(len(calibration))])

        def get_next(self):
            return next(self._batches, None)

    prepared = path.with_name(path.stem + ".prepared.onnx")
    quant_pre_process(str(plain), str(prepared), skip_symbolic_shape=True)
    name = load_model(str(prepared), load_external_data=False).graph.input[0].name
    quantize_static(str(prepared), str(path), Faces(name), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=False)


EXPORT_FORMATS = {
    "litert": ExportFormat("litert", "LiteRT", write_litert, measured_always=False),
    "onnx": ExportFormat("onnx", "ONNX", write_onnx, measured_always=True),
}
