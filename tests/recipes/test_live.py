"""``export-live``: the Live page's detector and expression network, checked and measured before they are written."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_core.errors import ModelError
from fer_core.inference.detector import DetectorConfig, FaceDetector
from fer_core.inference.predictor import PredictorConfig
from fer_core.inference.roll import LOOKS
from fer_core.recipes.live import (
    DETECTOR_FILE,
    EXPRESSION_FILE,
    LIVE_DETECTOR,
    MANIFEST_FILE,
    ROLL_FILE,
    LiveExportConfig,
    export_live,
)

pytest.importorskip("tf2onnx")


def _dataset():
    from conftest import synthetic_faces

    from fer_core.data.dataset import Dataset

    images, labels = synthetic_faces(n_per_class=8)
    splits = np.where(np.arange(len(labels)) % 4 == 0, "PublicTest", "Training")
    return Dataset(images, labels, splits, "synthetic.csv", "sha256:test")


def test_export_live_writes_both_networks_measured_and_the_settings_the_browser_shares(tiny_model_path, tmp_path):
    from fer_core.artifacts.keras_files import load_keras_model
    from fer_core.inference.engines import KerasEngine, OnnxEngine

    out = tmp_path / "live"
    manifest = export_live(tiny_model_path, out, _dataset())
    assert sorted(p.name for p in out.iterdir()) == sorted([DETECTOR_FILE, EXPRESSION_FILE, ROLL_FILE, MANIFEST_FILE])
    assert json.loads((out / MANIFEST_FILE).read_text()) == manifest
    config = DetectorConfig()
    assert manifest["detector"]["score_threshold"] == config.score_threshold
    assert manifest["detector"]["candidate_threshold"] == config.candidate_threshold
    assert manifest["detector"]["verify_side"] == config.verify_side
    assert manifest["detector"]["verify_min_side"] == config.verify_min_side
    assert manifest["detector"]["large_look_side"] == config.large_look_side
    assert manifest["detector"]["gray_look"] == config.gray_look
    assert manifest["detector"]["gray_look_from"] == config.gray_look_from
    assert (out / ROLL_FILE).read_bytes() == Path(config.roll_model).read_bytes()
    assert manifest["roll"]["unit"] == 30.0 and manifest["roll"]["looks"] == LOOKS and manifest["roll"]["max_degrees"] == 45
    assert manifest["crop"] == {"align": True, "min_turn": config.min_turn, "scale": config.framing[0],
                                "shift": config.framing[1], "margin": 0.0}
    assert manifest["expression"]["skip_mirror_from"] == PredictorConfig().skip_mirror_from
    accuracy = manifest["expression"]["accuracy"]
    assert accuracy["split"] == "PublicTest" and accuracy["onnx"] == pytest.approx(accuracy["keras"], abs=0.005)
    faces = np.random.default_rng(1).integers(0, 256, (4, 48, 48, 1)).astype(np.float32)
    keras_out = KerasEngine(load_keras_model(tiny_model_path))(faces)
    assert np.abs(OnnxEngine(out / EXPRESSION_FILE)(faces) - keras_out).max() < 1e-4


def test_the_free_size_detector_finds_what_opencv_finds(tiny_model_path, tmp_path, astronaut_jpeg):
    """The browser runs the file at the frame's own size: at 512 x 512 it gives OpenCV's box and landmarks."""
    import onnxruntime

    from fer_core.data.photos import load_rgb

    export_live(tiny_model_path, tmp_path, _dataset())
    rgb = load_rgb(astronaut_jpeg)
    height, width = rgb.shape[:2]
    session = onnxruntime.InferenceSession(str(tmp_path / DETECTOR_FILE), providers=["CPUExecutionProvider"])
    padded = np.zeros((3, -(-height // 32) * 32, -(-width // 32) * 32), np.float32)
    padded[:, :height, :width] = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR).transpose(2, 0, 1)
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"input": padded[None]})))
    scores = np.sqrt(np.clip(outputs["cls_8"], 0, 1) * np.clip(outputs["obj_8"], 0, 1)).reshape(-1)
    best = int(np.argmax(scores))
    cols = padded.shape[2] // 8
    row, col = divmod(best, cols)
    dx, dy, dw, dh = outputs["bbox_8"].reshape(-1, 4)[best]
    box = ((col + dx) * 8 - np.exp(dw) * 4, (row + dy) * 8 - np.exp(dh) * 4, np.exp(dw) * 8, np.exp(dh) * 8)
    face = FaceDetector().find(rgb)[0]
    assert np.abs(np.array(box) - np.array(face.box)).max() <= 1.0


def test_export_live_refuses_a_member_the_model_does_not_have_and_writes_nothing(tiny_model_path, tmp_path):
    out = tmp_path / "live"
    with pytest.raises(ModelError, match="single network; it has no member 2"):
        export_live(tiny_model_path, out, _dataset(), LiveExportConfig(member=2))
    assert not out.exists() or not any(out.iterdir())


def test_export_live_says_which_detector_file_is_missing(tiny_model_path, tmp_path):
    config = LiveExportConfig(detector=replace(LIVE_DETECTOR, yunet_model=str(tmp_path / "gone.onnx")))
    with pytest.raises(ModelError, match="gone.onnx: the YuNet face detector model is missing"):
        export_live(tiny_model_path, tmp_path / "live", _dataset(), config)
    assert not (tmp_path / "live" / MANIFEST_FILE).exists()


def test_export_live_refuses_turned_copies_the_browser_does_not_take(tiny_model_path, tmp_path):
    config = LiveExportConfig(detector=DetectorConfig(turns=(20.0, -20.0)))
    with pytest.raises(ModelError, match="does not look in turned copies"):
        export_live(tiny_model_path, tmp_path / "live", _dataset(), config)
    assert not (tmp_path / "live").exists()


def test_export_live_refuses_the_face_check_the_browser_does_not_run(tiny_model_path, tmp_path):
    assert LiveExportConfig().detector == replace(DetectorConfig(), check_from=0.0)  # the server's, less the check
    with pytest.raises(ModelError, match="the Live page has no face check"):
        export_live(tiny_model_path, tmp_path / "live", _dataset(), LiveExportConfig(detector=DetectorConfig()))
    assert not (tmp_path / "live").exists()


def test_the_shipped_live_files_come_from_the_shipped_model():
    """static/live/models was written from models/default.keras as it is now, and measured on all of PublicTest."""
    from conftest import REPO

    from fer_core.artifacts.exports import file_sha256

    folder = REPO / "static" / "live" / "models"
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    assert manifest["expression"]["source_sha256"] == file_sha256(REPO / "models" / "default.keras")
    for part in ("detector", "expression", "roll"):
        assert file_sha256(folder / manifest[part]["file"]) == manifest[part]["sha256"]
    assert (folder / manifest["roll"]["file"]).read_bytes() == (REPO / "models" / "detector" / "face_roll.onnx").read_bytes()
    config = DetectorConfig()  # the browser shares the server's current settings
    assert manifest["crop"]["min_turn"] == config.min_turn and manifest["crop"]["align"] == config.align
    shared = ("score_threshold", "candidate_threshold", "verify_side", "verify_min_side", "large_look_side",
              "verify_threshold", "gray_look")
    assert [manifest["detector"][k] for k in shared] == [getattr(config, k) for k in shared]
    assert manifest["roll"]["looks"] == LOOKS
    assert manifest["expression"]["skip_mirror_from"] == PredictorConfig().skip_mirror_from
    accuracy = manifest["expression"]["accuracy"]
    assert accuracy["n"] == 3589 and accuracy["keras (flip TTA)"] - accuracy["onnx (flip TTA)"] <= 0.005
