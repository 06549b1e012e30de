"""fer_core: the facial-expression-recognition engine behind the app (no Streamlit in here)."""

from importlib import import_module

from fer_core.backend import choose_keras_backend
from fer_core.errors import (
    DatasetError,
    FerError,
    ImageError,
    ModelError,
    TrainingError,
)
from fer_core.labels import EMOTIONS

choose_keras_backend()  # before any module imports Keras: JAX where TensorFlow is not installed

__all__ = ["EMOTIONS", "DatasetError", "FerError", "ImageError", "ModelError", "TrainingError",
           "Predictor", "Face", "TrainConfig", "train", "load_dataset"]

# The heavy parts (Keras, OpenCV) are imported on first use: name -> the submodule that defines it.
# No submodule shares a name with an entry here, so ``fer_core.train`` is always the function.
_LAZY = {"Predictor": "inference.predictor", "Face": "inference.predictor", "TrainConfig": "training.config",
         "train": "training.trainer", "load_dataset": "data.loading"}


def __getattr__(name: str):
    """Import ``name`` from its submodule the first time it is asked for."""
    if name not in _LAZY:
        raise AttributeError(f"module 'fer_core' has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
