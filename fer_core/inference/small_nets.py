"""The detector's small helper networks under ONNX Runtime: N x 48 x 48 x 1 squares in, N x 1 out.

The roll network (``inference.roll``) and the face check (``inference.face_check``) are run the
same way: one session each, no busy-waiting threads (``cpu_session``, as the detector's), safe to
call from several threads at once."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fer_core.errors import ModelError


def cpu_session(model: str | bytes):
    """An ONNX Runtime session on the CPU for a model file's path or bytes. Its threads busy-wait
    for work while a call runs, which is faster than sleeping between the graph's steps, and stop
    as soon as it returns (``session.force_spinning_stop``): threads left spinning after a call
    would take the cores from the classifier that runs next."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.force_spinning_stop", "1")
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


class SmallNet:
    """One ONNX file taking 48 x 48 x 1 float32 squares; ``what`` names it in error messages."""

    def __init__(self, path: str | os.PathLike, what: str):
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"{path}: the {what} model is missing; restore it from the repository")
        try:
            self._session = cpu_session(str(path))
            inputs = self._session.get_inputs()
            if len(inputs) != 1 or list(inputs[0].shape[1:]) != [48, 48, 1]:
                raise ValueError(f"not the {what} network's input")
        except Exception:  # onnxruntime raises its own types
            raise ModelError(f"{path}: not the {what} ONNX model (damaged?); restore it from the repository") from None
        self._input = inputs[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros((0, 1), np.float32)
        return self._session.run(None, {self._input: np.ascontiguousarray(x, dtype=np.float32)})[0]
