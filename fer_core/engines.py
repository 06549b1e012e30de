"""Inference engines: the function that turns a batch of faces into probabilities.

Two engines give the same numbers (checked to 1e-4 when the LiteRT file is written):

- ``KerasEngine`` runs the ``.keras`` model itself; it needs TensorFlow (seconds to import,
  hundreds of MB of memory).
- ``LiteRTEngine`` runs a ``.tflite`` export of that model with ``ai-edge-litert``: a small
  runtime that imports in a fraction of a second and needs no TensorFlow. ``python -m
  fer_core export`` writes the file and records in the model card which ``.keras`` file it
  was exported from (by SHA-256), so a stale export is never used.

The export is float32 by default. ``--quantize dynamic`` stores the weights as int8
(dynamic-range quantization: activations stay float): the file is 4x smaller and runs about 3x
faster on a laptop CPU, at the price of probabilities that differ from Keras by up to about 0.01.
Such an export is therefore measured on real faces before it is written, and refused when it
loses more than half a point of accuracy; the card records both engines' accuracy.

Both are called like a Keras model: ``engine(x)`` with float32 ``x`` of shape N x 48 x 48 x 1,
pixel values 0..255, returning N x 7 probabilities. Neither is thread-safe; ``Predictor``
serialises calls.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError
from .labels import INPUT_SHAPE, NUM_CLASSES
from .quiet import native_stderr_silenced

PARITY_TOLERANCE = 1e-4  # largest allowed |keras - litert| probability difference (float32 export)
QUANTIZED_TOLERANCE = 0.05  # the same for an export with int8 weights
QUANTIZED_MAX_ACCURACY_DROP = 0.005  # an int8 export may lose at most half a point on real faces
ENGINES = ("auto", "litert", "keras")
QUANTIZATIONS = ("none", "dynamic")


@dataclass(frozen=True)
class ExportConfig:
    """How to write the LiteRT twin of a model."""

    quantize: str = "none"  # none: float32, Keras's numbers | dynamic: int8 weights, float activations
    split: str = "PublicTest"  # where an int8 export is measured against Keras
    samples: int = 64  # random faces the parity check compares
    seed: int = 0


class KerasEngine:
    """Calls a loaded Keras model directly (no ``model.predict`` per-call overhead)."""

    name = "keras"

    def __init__(self, model, warning: str = ""):
        self.model = model
        self.warning = warning  # why the faster LiteRT engine is not the one running, when it should be

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return np.asarray(self.model(x, training=False))


class LiteRTEngine:
    """Runs a ``.tflite`` model with the LiteRT interpreter, resizing its batch as needed."""

    name = "litert"

    def __init__(self, path: str | os.PathLike, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        try:
            self._interpreter = Interpreter(model_path=str(self.path),
                                            num_threads=num_threads or min(4, os.cpu_count() or 1))
        except (ValueError, RuntimeError) as error:
            raise ModelError(f"{self.path}: not a LiteRT model this runtime can load ({error})") from None
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        if tuple(self._input["shape"][1:]) != INPUT_SHAPE or tuple(self._output["shape"][1:]) != (NUM_CLASSES,):
            raise ModelError(f"{self.path}: the LiteRT model maps {tuple(self._input['shape'])} to "
                             f"{tuple(self._output['shape'])}; expected (N, 48, 48, 1) to (N, 7)")
        self._batch = None
        self._invoked = False

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if len(x) == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        if self._batch != len(x):
            with native_stderr_silenced():  # the runtime announces its XNNPACK delegate on stderr
                self._interpreter.resize_tensor_input(self._input["index"], [len(x), *INPUT_SHAPE])
                self._interpreter.allocate_tensors()
            self._batch = len(x)
        self._interpreter.set_tensor(self._input["index"], x)
        if self._invoked:
            self._interpreter.invoke()
        else:
            with native_stderr_silenced():
                self._interpreter.invoke()
            self._invoked = True
        return self._interpreter.get_tensor(self._output["index"]).copy()


def litert_available() -> bool:
    """Whether the ``ai-edge-litert`` runtime is installed."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


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


def matching_litert_file(model_path: str | os.PathLike, card: dict) -> Path | None:
    """The ``.tflite`` export of this exact ``.keras`` file, or None when absent or stale."""
    record = card.get("litert") or {}
    path = litert_path_for(model_path)
    if not path.is_file() or not record.get("keras_sha256"):
        return None
    return path if record["keras_sha256"] == file_sha256(model_path) else None


def open_engine(model_path: str | os.PathLike, card: dict, engine: str = "auto"):
    """The engine for a model: LiteRT when asked (or on auto, when a matching export and the
    runtime exist), otherwise Keras."""
    if engine not in ENGINES:
        raise ModelError(f"engine {engine!r} is unknown; choose one of {', '.join(ENGINES)}")
    from .modelio import check_card, load_keras_model

    check_card(card, model_path)
    warning = ""
    if engine in ("auto", "litert"):
        lite = matching_litert_file(model_path, card)
        if lite is not None and litert_available():
            try:
                verify_litert_file(lite, card)
                return LiteRTEngine(lite)
            except ModelError as error:
                if engine == "litert":
                    raise
                warning = f"{error}; predicting with the Keras model instead (slower)"
        elif engine == "litert":
            why = ("ai-edge-litert is not installed" if not litert_available() else
                   f"no up-to-date {litert_path_for(model_path).name}; run python -m fer_core export "
                   f"--model {model_path}")
            raise ModelError(f"{model_path}: cannot use the LiteRT engine: {why}")
    model = load_keras_model(model_path)
    check_card(card, model_path, model)
    return KerasEngine(model, warning)


def verify_litert_file(path: Path, card: dict) -> None:
    """ModelError unless the ``.tflite`` file has the SHA-256 its export recorded (a damaged or
    altered file is never run); an export that recorded none is taken as it is."""
    recorded = (card.get("litert") or {}).get("tflite_sha256")
    if recorded and recorded != file_sha256(path):
        raise ModelError(f"{path}: the file does not match the SHA-256 recorded at export (damaged or "
                         "changed since)")


def export_litert(model_path: str | os.PathLike, config: ExportConfig = ExportConfig(), data=None) -> dict:
    """Export ``x.keras`` to ``x.tflite``, prove the two agree, and record it in the model card.

    The export is written to a temporary file, compared with Keras on ``config.samples`` random
    faces (largest difference at most ``PARITY_TOLERANCE``, or ``QUANTIZED_TOLERANCE`` with int8
    weights), and only then moved into place. An int8 export is also measured on the faces of
    ``config.split`` in ``data`` (a ``Dataset``, required then), plain and with flip TTA, and
    refused when it is more than ``QUANTIZED_MAX_ACCURACY_DROP`` less accurate than Keras.
    Returns the card's ``litert`` record.
    """
    from .modelio import card_path, load_keras_model, read_card, write_json_atomically

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
    from .evaluate import predict_probabilities

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
