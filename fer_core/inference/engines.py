"""Inference engines: the function that turns a batch of faces into probabilities.

- ``KerasEngine`` runs the ``.keras`` model itself under Keras's backend (TensorFlow, or JAX where
  TensorFlow has no wheels): seconds to import, hundreds of MB of memory.
- ``OnnxEngine`` runs a ``.onnx`` export with ONNX Runtime, and ``LiteRTEngine`` a ``.tflite``
  export with ``ai-edge-litert``: small runtimes that import in a fraction of a second and need no
  TensorFlow. ``python -m fer_core export`` writes the file and records in the model card which
  ``.keras`` file it was exported from (by SHA-256), so a stale export is never used.

An export is float32 by default, with Keras's numbers to 1e-4. ``--quantize dynamic`` stores the
weights as int8 (activations stay float); ``--quantize static`` (ONNX only) computes in int8
throughout, its activations' ranges calibrated on training faces. Both are 4x smaller, differ from
Keras by up to a few hundredths, and are therefore measured on real faces before they are written
and refused when they lose more than half a point of accuracy; the card records both engines'
accuracy. The shipped model's static ONNX file is the fastest of them on a CPU without AVX-512
(docs/experiments.md, *Size and speed*), so ``auto`` prefers int8 activations, then int8 weights,
then float32, and LiteRT before ONNX between equals.

Every engine is called like a Keras model: ``engine(x)`` with float32 ``x`` of shape N x 48 x 48 x 1,
pixel values 0..255, returning N x 7 probabilities. ``Predictor`` serialises the calls.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from fer_core.artifacts.exports import (
    EXPORT_KINDS,
    export_path_for,
    fastest_exports,
    matching_export,
    runtime_available,
    verify_export,
)
from fer_core.errors import ModelError
from fer_core.geometry import INPUT_SHAPE
from fer_core.labels import NUM_CLASSES
from fer_core.quiet import native_stderr_silenced

ENGINES = ("auto", "onnx", "litert", "keras")


class KerasEngine:
    """Calls a loaded Keras model directly (no ``model.predict`` per-call overhead); under JAX,
    through one compiled function of the whole model (``jax_forward``)."""

    name = "keras"

    def __init__(self, model, warning: str = ""):
        self.model = model
        self.warning = warning  # why a faster exported engine is not the one running, when it should be
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
    warning = ""  # why a faster engine is not the one running, when it should be

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
    """Runs a ``.onnx`` export with ONNX Runtime; its threads busy-wait only while a call runs
    (``cpu_session``), so they leave the cores to the detector between calls."""

    name = "onnx"
    warning = ""

    def __init__(self, path: str | os.PathLike):
        from fer_core.inference.small_nets import cpu_session

        self.path = Path(path)
        try:
            self._session = cpu_session(str(self.path))
        except Exception as error:  # onnxruntime raises its own types for a bad file
            raise ModelError(f"{self.path}: not an ONNX model this runtime can load ({error})") from None
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if (len(inputs) != 1 or tuple(inputs[0].shape[1:]) != INPUT_SHAPE
                or len(outputs) != 1 or tuple(outputs[0].shape[1:]) != (NUM_CLASSES,)):
            shapes = [tuple(item.shape) for item in (*inputs, *outputs)]
            raise ModelError(f"{self.path}: the ONNX model's inputs and outputs are {shapes}; expected "
                             "(N, 48, 48, 1) to (N, 7)")
        self._input = inputs[0].name

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if len(x) == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        return self._session.run(None, {self._input: x})[0]


EXPORT_ENGINES = {"onnx": OnnxEngine, "litert": LiteRTEngine}


def open_engine(model_path: str | os.PathLike, card: dict, engine: str = "auto"):
    """The engine for a model: the export asked for, or on auto the fastest up-to-date export whose
    runtime is installed (``fastest_exports``), otherwise Keras."""
    if engine not in ENGINES:
        raise ModelError(f"engine {engine!r} is unknown; choose one of {', '.join(ENGINES)}")
    from fer_core.artifacts.cards import check_card
    from fer_core.artifacts.keras_files import load_keras_model

    check_card(card, model_path)
    if engine in EXPORT_KINDS:
        kind = EXPORT_KINDS[engine]
        if not runtime_available(engine):
            raise ModelError(f"{model_path}: cannot use the {engine} engine: {kind.package} is not installed")
        if matching_export(model_path, card, engine) is None:
            raise ModelError(f"{model_path}: cannot use the {engine} engine: no up-to-date "
                             f"{export_path_for(model_path, engine).name}; run python -m fer_core export "
                             f"--model {model_path}{' --format onnx' if engine == 'onnx' else ''}")
    candidates = [engine] if engine in EXPORT_KINDS else fastest_exports(model_path, card) if engine == "auto" else []
    problems = []
    for kind in candidates:
        path = export_path_for(model_path, kind)
        try:
            verify_export(path, card, kind)
            runner = EXPORT_ENGINES[kind](path)
        except ModelError as error:
            if engine == kind:
                raise
            problems.append(str(error))
            continue
        if problems:
            runner.warning = f"{'; '.join(problems)}; predicting with its {kind} export instead"
        return runner
    warning = f"{'; '.join(problems)}; predicting with the Keras model instead (slower)" if problems else ""
    model = load_keras_model(model_path)
    check_card(card, model_path, model)
    return KerasEngine(model, warning)
