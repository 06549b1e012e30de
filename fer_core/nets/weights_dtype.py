"""Storing a model's weights in 16 bits: half the file, the same answers.

A ``.keras`` file stores each weight in its layer's dtype. ``with_weights_dtype(model, "float16")``
rebuilds the model with float16 layers, which halves the file, so two ``vgg_fer`` networks (19.5 MB
each in float32) fit the 25 MB budget of the shipped model. ``load_keras_model`` rebuilds such a
model with float32 layers again, so every engine computes as before (float16 arithmetic is slow on
most CPUs) and only the rounding of the weights to 16 bits remains: 11 significant bits, far finer
than the int8 weights of the exported file the app runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fer_core.errors import ModelError

WEIGHTS_DTYPES = ("float32", "float16")


def weights_dtype(model) -> str:
    """The dtype the model's weights are stored in: "float16" when any weight is, else "float32"."""
    return "float16" if any(str(weight.dtype) == "float16" for weight in model.weights) else "float32"


def with_weights_dtype(model, dtype: str):
    """A copy of ``model`` whose layers hold (and compute in) ``dtype``, its weights rounded to it."""
    if dtype not in WEIGHTS_DTYPES:
        raise ModelError(f"weights can be stored as {' or '.join(WEIGHTS_DTYPES)}; got {dtype!r}")
    rebuilt = type(model).from_config(_with_policy(model.get_config(), dtype))
    rebuilt.set_weights([np.asarray(weight).astype(dtype) for weight in model.get_weights()])
    return rebuilt


def _with_policy(config: Any, dtype: str) -> Any:
    """``config`` with every layer's dtype policy set to ``dtype`` (nested models included)."""
    if isinstance(config, list):
        return [_with_policy(item, dtype) for item in config]
    if not isinstance(config, dict):
        return config
    if config.get("class_name") == "DTypePolicy":
        return {**config, "config": {**config.get("config", {}), "name": dtype}}
    return {key: _with_policy(value, dtype) for key, value in config.items()}
