"""fer_core: the facial-expression-recognition engine behind the app (no Streamlit in here)."""

from .errors import DatasetError, FerError, ImageError, ModelError, TrainingError
from .labels import EMOTIONS

__all__ = ["EMOTIONS", "DatasetError", "FerError", "ImageError", "ModelError", "TrainingError",
           "Predictor", "Face", "TrainConfig", "train", "load_dataset"]


def __getattr__(name: str):
    """Import the heavy parts (Keras, OpenCV) only when they are used."""
    if name in ("Predictor", "Face"):
        from . import predict
        return getattr(predict, name)
    if name in ("TrainConfig", "train"):
        from . import train as train_module
        return getattr(train_module, name)
    if name == "load_dataset":
        from .data import load_dataset
        return load_dataset
    raise AttributeError(f"module 'fer_core' has no attribute {name!r}")
