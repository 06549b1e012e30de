"""``train-roll``: the turned training faces, and a short run that writes the three files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fer_core.nets.roll_net import ROLL_DISC
from fer_core.recipes.roll import (
    PARITY_DEGREES,
    ROLL_FILES,
    RollTrainingConfig,
    Turn,
    random_turns,
    train_roll_net,
    turned_batch,
    turned_face,
)


def test_a_face_shown_without_a_turn_is_the_face_itself_inside_the_disc():
    face = np.random.default_rng(0).integers(0, 256, (48, 48)).astype(np.uint8)
    np.testing.assert_allclose(turned_face(face, Turn(0.0)), face * ROLL_DISC, atol=1e-4)


def test_a_quarter_turn_is_a_quarter_turn_counterclockwise():
    face = np.zeros((48, 48), np.uint8)
    face[10:20, 20:28] = 255  # a bright patch above the middle
    quarter = turned_face(face, Turn(90.0))
    ys, xs = np.nonzero(quarter > 128)
    assert xs.mean() < 24 and abs(ys.mean() - 23.5) < 2  # now left of the middle


def test_the_turns_are_labelled_in_units_of_30_degrees_and_drawn_within_the_range():
    turns = random_turns(500, np.random.default_rng(1), 45.0)
    degrees = np.array([t.degrees for t in turns])
    assert degrees.min() >= -45 and degrees.max() <= 45 and degrees.std() > 20
    x, y = turned_batch(np.zeros((500, 48, 48), np.uint8), turns)
    assert x.shape == (500, 48, 48, 1) and np.allclose(y, degrees / 30)


def test_a_short_run_writes_the_network_its_onnx_copy_and_its_card(tmp_path):
    pytest.importorskip("tf2onnx")
    from conftest import synthetic_faces

    from fer_core.data.dataset import Dataset
    from fer_core.inference.roll import RollNet

    images, labels = synthetic_faces(n_per_class=6)
    splits = np.where(np.arange(len(labels)) % 3 == 0, "PublicTest", "Training")
    data = Dataset(images, labels, splits, "synthetic.csv", "sha256:test")
    epochs = []
    card = train_roll_net(data, tmp_path, RollTrainingConfig(epochs=1, batch_size=16),
                          on_epoch=lambda epoch, row: epochs.append((epoch, row)))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(ROLL_FILES)  # the resume backup is gone
    assert json.loads((tmp_path / "face_roll.json").read_text()) == card
    assert card["onnx"]["max_difference_degrees"] <= PARITY_DEGREES
    errors = card["PublicTest turned by up to 45 degrees"]
    assert errors["faces"] == 14 and errors["two looks"]["median_degrees"] >= 0
    assert [epoch for epoch, _ in epochs] == [1] and card["history"][0]["epoch"] == 1
    assert card["made_by"] == "python -m fer_core train-roll --data synthetic.csv --epochs 1 --seed 0"
    assert RollNet(tmp_path / "face_roll.onnx")(np.zeros((2, 48, 48, 1), np.float32)).shape == (2, 1)
