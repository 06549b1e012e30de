"""``train-face-check``: the candidates of the recipe's photos, and a short run that writes the three files."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from skimage import data as samples

from fer_core.data.dataset import Dataset
from fer_core.data.photo_folders import read_photos
from fer_core.recipes.face_check import (
    FACE_CHECK_FILES,
    PARITY,
    PHOTO_MAX_SIDE,
    SCENE_SIZE,
    FaceCheckTrainingConfig,
    candidate_set,
    scene,
    scene_with_faces,
    train_face_check,
)


def astronaut_faces(count: int = 12) -> Dataset:
    """The astronaut's face, framed a little differently each time, as a tiny 'Training' split."""
    gray = cv2.cvtColor(samples.astronaut(), cv2.COLOR_RGB2GRAY)
    rng = np.random.default_rng(0)
    faces = []
    for _ in range(count):
        x, y, side = 165 + rng.integers(-6, 7), 80 + rng.integers(-6, 7), 110 + rng.integers(-8, 9)
        faces.append(cv2.resize(gray[y:y + side, x:x + side], (48, 48), interpolation=cv2.INTER_AREA))
    return Dataset(np.stack(faces), np.zeros(count, np.int64), np.array(["Training"] * count), "faces.csv",
                   "sha256:test")


def test_a_scene_holds_its_faces_where_its_truth_says():
    rng = np.random.default_rng(3)
    faces = astronaut_faces().images
    photo, truth = scene_with_faces(rng, faces, [np.full((50, 50, 3), 128, np.uint8)])
    assert photo.shape == (*SCENE_SIZE, 3) and photo.dtype == np.uint8
    for face in truth:  # the middle of each pasted face differs from the flat grey around it
        x, y = face["centre"]
        assert 40 <= face["side"] <= 400 and photo[y - 5:y + 5, x - 5:x + 5].std() > 3


def test_real_photos_are_shrunk_and_cut_into_scenes(tmp_path):
    wide = np.tile(samples.coffee(), (2, 10, 1))  # 800 x 6000: shrunk to 2560 wide when read
    cv2.imwrite(str(tmp_path / "wide.png"), cv2.cvtColor(wide, cv2.COLOR_RGB2BGR))
    real = read_photos([tmp_path / "wide.png"], PHOTO_MAX_SIDE)
    assert max(real[0].shape[:2]) == PHOTO_MAX_SIDE == 2560
    rng = np.random.default_rng(0)
    grey = [np.full((50, 50, 3), 128, np.uint8)]
    cuts = [scene(rng, grey, real, real_share=1.0) for _ in range(3)]
    assert all(cut.shape == (*SCENE_SIZE, 3) and cut.std() > 10 for cut in cuts)  # coffee, not the grey tile
    assert len({cut.tobytes() for cut in cuts}) == 3  # cut at random scales and places


def test_the_candidates_hold_faces_and_others_and_keep_every_face():
    config = FaceCheckTrainingConfig(scenes=4, faces_alone=6, negatives=50)
    squares, labels = candidate_set(astronaut_faces(), config)
    assert squares.shape[1:] == (48, 48) and squares.dtype == np.uint8
    assert labels.sum() >= 6  # each face alone is found, at least
    assert (~labels).sum() == 50  # the others are sampled down to ``negatives``


def test_a_short_run_writes_the_network_its_onnx_copy_and_its_card(tmp_path):
    pytest.importorskip("tf2onnx")
    from fer_core.inference.face_check import FaceCheck

    lines = []
    config = FaceCheckTrainingConfig(scenes=3, faces_alone=8, negatives=200, epochs=1, batch_size=32)
    card = train_face_check(astronaut_faces(), tmp_path, config, on_progress=lines.append)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FACE_CHECK_FILES)
    assert json.loads((tmp_path / "face_check.json").read_text()) == card
    assert card["onnx"]["max_difference"] <= PARITY
    assert card["data"]["faces"] >= 8 and card["data"]["candidates"] == card["data"]["faces"] + 200
    assert list(card["held-out candidates"]) == ["0.5", "0.9", "0.95", "0.98", "0.99"]
    held_out = card["held-out candidates"]["0.98"]
    assert held_out["faces"] + held_out["others"] == card["data"]["candidates"] // 10
    assert card["held-out candidates"]["0.5"]["faces_accepted"] >= held_out["faces_accepted"]
    assert card["made_by"] == "python -m fer_core train-face-check --data faces.csv --epochs 1 --seed 0"
    assert lines[-1].startswith("epoch 1/1: loss")
    assert card["data"]["photos_without_a_face"] == [] and card["config"]["negatives_from"] == []
    probabilities = FaceCheck(tmp_path / "face_check.onnx")(np.zeros((2, 48, 48, 1), np.float32))
    assert probabilities.shape == (2, 1) and ((0 <= probabilities) & (probabilities <= 1)).all()
