"""Inference engines: the function that turns a batch of faces into probabilities.

Two engines give the same numbers (checked to 1e-4 when the LiteRT file is written):

- ``KerasEngine`` runs the ``.keras`` model itself under Keras's backend (TensorFlow, or JAX where
  TensorFlow has no wheels): seconds to import, hundreds of MB of memory.
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

import os
from pathlib import Path
from typing import Callable

import numpy as np

from fer_core.artifacts.exports import (
    litert_available,
    litert_path_for,
    matching_litert_file,
    verify_litert_file,
)
from fer_core.errors import ModelError
from fer_core.geometry import INPUT_SHAPE
from fer_core.labels import NUM_CLASSES
from fer_core.quiet import native_stderr_silenced

ENGINES = ("auto", "litert", "keras")


class KerasEngine:
    """Calls a loaded Keras model directly (no ``model.predict`` per-call overhead); under JAX,
    through one compiled function of the whole model (``jax_forward``)."""

    name = "keras"

    def __init__(self, model, warning: str = ""):
        self.model = model
        self.warning = warning  # why the faster LiteRT engine is not the one running, when it should be
        import keras  # imported already: the model exists; its backend, not KERAS_BACKEND, is the one running

        self._forward = jax_forward(model) if keras.backend.backend() == "jax" else None

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if self._forward is not None:
            return np.asarray(self._forward(np.asarray(x, np.float32)))
        return np.asarray(self.model(x, training=False))


def jax_forward(model) -> Callable[[np.ndarray], np.ndarray]:
    """The model's inference as one ``jax.jit`` function, compiled once per batch size and safe to
    call from many threads. Called directly, Keras under JAX runs the model op by op: the shipped
    default took 109 ms for a face and its mirror against 37 ms compiled, and its first call at a
    new batch size 1.7-1.9 s against 0.7-1.0 s (two cores, AVX2). The weights are read at each call,
    so a model whose weights change is followed."""
    import jax

    @jax.jit
    def forward(trainable, non_trainable, x):
        return model.stateless_call(trainable, non_trainable, x, training=False)[0]

    def call(x: np.ndarray) -> np.ndarray:
        return forward([v.value for v in model.trainable_variables],
                       [v.value for v in model.non_trainable_variables], x)

    return call


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


class OnnxEngine:
    """Runs a ``.onnx`` export with ONNX Runtime (to check it; the browser runs it with onnxruntime-web)."""

    name = "onnx"

    def __init__(self, path: str | os.PathLike):
        import onnxruntime

        self.path = Path(path)
        try:
            self._session = onnxruntime.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own types for a bad file
            raise ModelError(f"{self.path}: not an ONNX model this runtime can load ({error})") from None
        self._input = self._session.get_inputs()[0].name

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if len(x) == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        return self._session.run(None, {self._input: x})[0]


def open_engine(model_path: str | os.PathLike, card: dict, engine: str = "auto"):
    """The engine for a model: LiteRT when asked (or on auto, when a matching export and the
    runtime exist), otherwise Keras."""
    if engine not in ENGINES:
        raise ModelError(f"engine {engine!r} is unknown; choose one of {', '.join(ENGINES)}")
    from fer_core.artifacts.cards import check_card
    from fer_core.artifacts.keras_files import load_keras_model

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
