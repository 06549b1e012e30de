"""``export-live``: the files the Live page runs in the visitor's browser.

The Live page detects and classifies faces in the browser with onnxruntime-web, so it needs ONNX
files and the settings that make its crops the server's crops. This recipe writes them into one
folder (``static/live/models`` by default, served by Streamlit's static file serving):

- ``face_detector.onnx``: the server's YuNet detector file (its input size left free), so the
  browser finds the same boxes and landmarks.
- ``face_roll.onnx``: the server's roll network, so the browser turns each face upright as the
  server does.
- ``expression.onnx``: one network of the shipped ensemble (by default its smallest, the fastest
  in a browser), exported to ONNX, checked against Keras on random faces and measured on real
  faces, and refused when it loses more than half a point of accuracy.
- ``live.json``: what the page reads: the emotions, the detector's thresholds and second look,
  the roll network's settings, the crop's framing, and the accuracy and checksums of the files.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_core.artifacts.atomic_files import replace_atomically
from fer_core.artifacts.cards import read_card, write_json_atomically
from fer_core.artifacts.exports import file_sha256
from fer_core.data.dataset import Dataset
from fer_core.errors import ModelError
from fer_core.geometry import IMAGE_SIZE, INPUT_SHAPE
from fer_core.inference.detector import DetectorConfig
from fer_core.inference.engines import KerasEngine, OnnxEngine
from fer_core.inference.predictor import PredictorConfig
from fer_core.inference.roll import LOOKS, MAX_ROLL, RollNet
from fer_core.inference.yunet import free_input_size
from fer_core.labels import EMOTIONS
from fer_core.nets.roll_net import ROLL_UNIT
from fer_core.recipes.export import (
    PARITY_TOLERANCE,
    compare_accuracy,
    refuse_accuracy_loss,
    require_tensorflow,
    write_onnx,
)

DETECTOR_FILE = "face_detector.onnx"
EXPRESSION_FILE = "expression.onnx"
ROLL_FILE = "face_roll.onnx"
MANIFEST_FILE = "live.json"


# The server's detector without the face check: the browser does not run it (a textured frame
# raises a hundred weak candidates, too many to check thirty times a second).
LIVE_DETECTOR = DetectorConfig(check_from=0.0)


@dataclass(frozen=True)
class LiveExportConfig:
    """Which network the browser runs and where it is measured."""

    member: int = 0  # 1-based index of the ensemble member to export; 0: the smallest (fastest)
    split: str = "PublicTest"  # the faces the export is measured on
    samples: int = 64  # random faces the Keras / ONNX parity check compares
    seed: int = 0
    detector: DetectorConfig = LIVE_DETECTOR  # thresholds and framing the browser must share
    skip_mirror_from: float = PredictorConfig.skip_mirror_from  # a face this sure is not mirrored


def export_live(model_path: str | os.PathLike, out_dir: str | os.PathLike, data: Dataset,
                config: LiveExportConfig = LiveExportConfig()) -> dict:
    """Write the Live page's detector, expression network and ``live.json`` into ``out_dir``;
    returns the manifest. Nothing in ``out_dir`` changes unless every check passes."""
    from fer_core.artifacts.keras_files import load_keras_model

    if config.detector.kind != "yunet":
        raise ModelError("the Live page runs YuNet; the Haar cascade has no ONNX model")
    if config.detector.turns:
        raise ModelError("the Live page does not look in turned copies of the frame; export without turns")
    if config.detector.check_from:
        raise ModelError("the Live page has no face check; export with check_from=0 (LIVE_DETECTOR)")
    faces = data.subset(config.split)  # fails on a wrong split before converting anything
    model_path, out_dir = Path(model_path), Path(out_dir)
    model = load_keras_model(model_path)
    network, index, name = pick_member(model, config.member)
    require_tensorflow("the Live page's export")  # after every check of what was asked for
    card = read_card(model_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as work:
        candidate = Path(work) / EXPRESSION_FILE
        x = np.random.default_rng(config.seed).integers(0, 256, (config.samples, *INPUT_SHAPE)).astype(np.float32)
        expected = np.asarray(network(x, training=False))
        write_onnx(network, candidate)
        exported = OnnxEngine(candidate)
        difference = float(np.abs(expected - exported(x)).max())
        if difference > PARITY_TOLERANCE:
            raise ModelError(f"{model_path}: the ONNX export of {name} differs from Keras by {difference:.2e} "
                             f"(> {PARITY_TOLERANCE:.0e}); not written")
        accuracy = compare_accuracy(KerasEngine(network), exported, faces, config.split, "onnx")
        refuse_accuracy_loss(accuracy, model_path, "onnx")
        detector_bytes = free_input_size(Path(config.detector.yunet_model))
        RollNet(config.detector.roll_model)  # a missing or damaged roll network stops the export here
        replace_atomically(out_dir / DETECTOR_FILE, lambda path: Path(path).write_bytes(detector_bytes))
        replace_atomically(out_dir / EXPRESSION_FILE, lambda path: Path(path).write_bytes(candidate.read_bytes()))
        roll_bytes = Path(config.detector.roll_model).read_bytes()
        replace_atomically(out_dir / ROLL_FILE, lambda path: Path(path).write_bytes(roll_bytes))
    manifest = {
        "emotions": list(EMOTIONS),
        "input_size": IMAGE_SIZE,
        "detector": {
            "file": DETECTOR_FILE, "sha256": file_sha256(out_dir / DETECTOR_FILE),
            "source": Path(config.detector.yunet_model).name,
            "score_threshold": config.detector.score_threshold, "nms_threshold": config.detector.nms_threshold,
            "candidate_threshold": config.detector.candidate_threshold, "verify_side": config.detector.verify_side,
            "verify_min_side": config.detector.verify_min_side, "large_look_side": config.detector.large_look_side,
            "verify_threshold": config.detector.verify_threshold, "gray_look": config.detector.gray_look,
            "gray_look_from": config.detector.gray_look_from,
            "max_side": config.detector.detect_max_side,
        },
        "roll": {"file": ROLL_FILE, "sha256": file_sha256(out_dir / ROLL_FILE),
                 "source": Path(config.detector.roll_model).name, "unit": ROLL_UNIT, "looks": LOOKS,
                 "max_degrees": MAX_ROLL},
        "crop": {"align": config.detector.align, "min_turn": config.detector.min_turn,
                 "scale": config.detector.framing[0],
                 "shift": config.detector.framing[1], "margin": config.detector.margin},
        "expression": {
            "file": EXPRESSION_FILE, "sha256": file_sha256(out_dir / EXPRESSION_FILE),
            "bytes": (out_dir / EXPRESSION_FILE).stat().st_size, "network": name, "member": index,
            "parameters": int(network.count_params()), "skip_mirror_from": config.skip_mirror_from,
            "source": model_path.name,
            "source_sha256": file_sha256(model_path), "max_difference": difference, "accuracy": accuracy,
            "source_accuracy": (card.get("metrics", {}).get(f"{config.split} (flip TTA)") or {}).get("accuracy"),
        },
    }
    write_json_atomically(manifest, out_dir / MANIFEST_FILE)
    return manifest


def pick_member(model, member: int) -> tuple[object, int, str]:
    """(network, 1-based index, name) of the ensemble member to export: ``member``, or the
    smallest when 0. A single network is its own only member."""
    import keras

    from fer_core.nets.graph import ensemble_members

    members = ensemble_members(model)
    if not members:
        if member > 1:
            raise ModelError(f"{model.name} is a single network; it has no member {member}")
        return model, 1, model.name
    if member > len(members) or member < 0:
        raise ModelError(f"the ensemble has {len(members)} members; choose --member 1 to {len(members)} (0: the smallest)")
    index = member or 1 + min(range(len(members)), key=lambda i: members[i].count_params())
    chosen = members[index - 1]
    inputs = keras.Input(shape=INPUT_SHAPE, name="face")
    network = keras.Model(inputs, chosen(inputs), name=chosen.name.split("_", 1)[-1])
    return network, index, chosen.name
