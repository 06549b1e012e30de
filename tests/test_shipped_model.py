"""The model that ships in models/: its contract, its card, and (with the data) its card's numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fer_core import Predictor
from fer_core.data import load_dataset
from fer_core.labels import EMOTIONS

from conftest import REPO, SHARED_CSV

MODEL = REPO / "models" / "default.keras"
CARD = MODEL.with_suffix(".json")
pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="models/default.keras is not in this checkout")


def test_shipped_model_loads_and_honours_the_contract():
    predictor = Predictor.load()
    assert predictor.model.input_shape == (None, 48, 48, 1) and predictor.model.output_shape == (None, 7)
    assert MODEL.stat().st_size < 25e6
    probabilities = predictor.classify(np.full((2, 48, 48), 120, np.uint8))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_shipped_card_records_how_the_model_was_made():
    card = json.loads(CARD.read_text())
    assert card["classes"] == list(EMOTIONS)
    assert card["architecture"] == card["config"]["arch"]
    assert card["data"]["fingerprint"].startswith("sha256:")
    assert card["training"]["seconds"] > 0 and card["training"]["hardware"]
    assert len(card["history"]["val_accuracy"]) == card["training"]["epochs_run"]
    publictest = card["metrics"]["PublicTest"]
    assert publictest["n"] == 3589 and len(publictest["confusion_matrix"]) == 7


def test_shipped_model_finds_and_labels_the_example_face():
    faces = Predictor.load().predict(REPO / "assets" / "example_astronaut.jpg")
    assert len(faces) == 1 and faces[0].label == "happy"  # she is smiling


@pytest.mark.skipif(not SHARED_CSV.exists(), reason="../shared/data/fer2013.csv.gz is absent")
@pytest.mark.parametrize("tta, key", [(False, "PublicTest"), (True, "PublicTest (flip TTA)")])
def test_publictest_accuracy_matches_the_card_within_half_a_point(tta, key):
    data = load_dataset(SHARED_CSV).subset("PublicTest")
    measured = Predictor.load().evaluate(data.images, data.labels, split="PublicTest", tta=tta)
    card = json.loads(CARD.read_text())
    assert abs(measured.accuracy - card["metrics"][key]["accuracy"]) <= 0.005
