"""Which library Keras computes with: TensorFlow where it is installed, else JAX (or PyTorch).

TensorFlow publishes no wheels for Python 3.14, nor any past 2.16 for Intel Macs, so there
``requirements.txt`` installs JAX in its place. Keras would still ask for TensorFlow, its default,
and fail on import; ``fer_core`` calls ``choose_keras_backend`` before anything imports Keras. A
backend named by ``KERAS_BACKEND`` or by Keras's own ``keras.json`` is left as it is.
"""

from __future__ import annotations

import json
import os
from importlib.util import find_spec
from pathlib import Path

BACKENDS_WITHOUT_TENSORFLOW = ("jax", "torch")  # in order of preference: JAX is what the GPU recipe uses


def configured_backend() -> str | None:
    """The backend Keras's ``keras.json`` names (``$KERAS_HOME`` or ``~/.keras``), or None."""
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        backend = json.loads((home / "keras.json").read_text()).get("backend")
    except (OSError, ValueError, AttributeError):
        return None
    return backend if isinstance(backend, str) else None


def tensorflow_installed() -> bool:
    """Whether TensorFlow can be imported (found without importing it)."""
    return find_spec("tensorflow") is not None


def choose_keras_backend() -> str | None:
    """Point Keras at JAX (or PyTorch) when TensorFlow is not installed and nothing names another
    backend; returns the backend chosen, or None when Keras's own choice stands."""
    if "KERAS_BACKEND" in os.environ or tensorflow_installed() or keras_backend_name() != "tensorflow":
        return None
    for name in BACKENDS_WITHOUT_TENSORFLOW:
        if find_spec(name) is not None:
            os.environ["KERAS_BACKEND"] = name
            return name
    return None


def keras_backend_name() -> str:
    """The backend Keras computes with (or will, once imported), read without importing Keras."""
    return os.environ.get("KERAS_BACKEND") or configured_backend() or "tensorflow"
