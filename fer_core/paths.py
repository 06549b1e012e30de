"""Where the shipped models live, found in one place.

In a source checkout (or an editable install) they are the repository's ``models/`` folder; a
built package carries the same files as ``fer_core/shipped_models``.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def shipped_models_dir() -> Path:
    """The folder of the shipped models: the installed copy, else the checkout's ``models/``."""
    installed = PACKAGE_DIR / "shipped_models"
    return installed if installed.is_dir() else PACKAGE_DIR.parent / "models"


MODELS_DIR = shipped_models_dir()
DEFAULT_MODEL_PATH = MODELS_DIR / "default.keras"
YUNET_UPSTREAM_MODEL = MODELS_DIR / "detector" / "face_detection_yunet_2023mar.onnx"  # as OpenCV's model zoo ships it
YUNET_MODEL = MODELS_DIR / "detector" / "face_detection_yunet_2023mar_free_size.onnx"  # the same, any input size
ROLL_MODEL = MODELS_DIR / "detector" / "face_roll.onnx"  # how far each face is turned (recipes.roll)
FACE_CHECK_MODEL = MODELS_DIR / "detector" / "face_check.onnx"  # whether a weak candidate is a face (recipes.face_check)
LIVE_MODELS_DIR = PACKAGE_DIR.parent / "static" / "live" / "models"  # what the Live page runs (a source checkout)
