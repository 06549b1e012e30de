"""The detector's small helper networks (the roll network and the face check): a missing or
damaged model file is a clear error, when the detector starts and when the network is opened."""

from __future__ import annotations

import shutil

import pytest
from conftest import REPO

from fer_core.errors import ModelError
from fer_core.inference.detector import DetectorConfig, FaceDetector
from fer_core.inference.face_check import FaceCheck
from fer_core.inference.roll import RollNet


@pytest.mark.parametrize(("setting", "what", "network"), [("roll_model", "face roll", RollNet),
                                                          ("face_check_model", "face check", FaceCheck)])
def test_a_missing_or_damaged_model_is_a_clear_error(tmp_path, setting, what, network):
    with pytest.raises(ModelError, match=f"gone.onnx: the {what} model is missing"):
        FaceDetector(DetectorConfig(**{setting: str(tmp_path / "gone.onnx")}))
    damaged = tmp_path / "damaged.onnx"
    damaged.write_bytes(b"\x08\x07" + bytes(500))
    with pytest.raises(ModelError, match=f"damaged.onnx: not the {what} ONNX model"):
        FaceDetector(DetectorConfig(**{setting: str(damaged)}))
    other = tmp_path / "detector.onnx"  # an ONNX file, but not this network
    shutil.copy(REPO / "models" / "detector" / "face_detection_yunet_2023mar_free_size.onnx", other)
    with pytest.raises(ModelError, match=f"detector.onnx: not the {what} ONNX model"):
        network(other)
