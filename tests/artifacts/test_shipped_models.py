"""The models that ship in models/: contract, card, and (with the data) the card's numbers.

models/default.keras is the app's default; any other .keras file there (e.g. the seed's CNN
trained with the blog's recipe, kept for comparison) must meet the same bar."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REPO, SHARED_CSV

from fer_core.data.loading import load_dataset
from fer_core.inference.predictor import Predictor
from fer_core.labels import EMOTIONS

MODEL = REPO / "models" / "default.keras"
SHIPPED = sorted((REPO / "models").glob("*.keras"))
pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="models/default.keras is not in this checkout")
each_model = pytest.mark.parametrize("model", SHIPPED, ids=[path.stem for path in SHIPPED])


@each_model
def test_shipped_model_loads_and_honours_the_contract(model):
    predictor = Predictor.load(model)
    assert predictor.model.input_shape == (None, 48, 48, 1) and predictor.model.output_shape == (None, 7)
    assert model.stat().st_size < 25e6
    probabilities = predictor.classify(np.full((2, 48, 48), 120, np.uint8))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def trained_networks(card: dict) -> list[dict]:
    """The cards of the trained networks a model is made of, each with its `train` command: an
    ensemble's card holds its members' cards, a blurred network's card the network's command."""
    if "members" in card:
        return [network for member in card["members"] for network in trained_networks(member)]
    if "input_blur" in card:
        assert card["command"].startswith("python -m fer_core blur ") and card["input_blur"]["sigma"] > 0
        assert card["input_blur"]["chosen_on"] == card["validation_split"]
        return [{**card, "command": card["derived_from"]["command"]}]
    return [card]


def full_card(model) -> dict:
    """The model's card, with its members' full record from the side file it names (if any)."""
    card = json.loads(model.with_suffix(".json").read_text())
    if "members_record" in card:
        card["members"] = json.loads((model.parent / card["members_record"]).read_text())["members"]
    return card


def test_the_default_card_keeps_what_the_app_needs_and_leaves_the_histories_aside():
    card = json.loads(MODEL.with_suffix(".json").read_text())
    assert MODEL.with_suffix(".json").stat().st_size < 60_000
    assert {"title", "summary", "metrics", "validation_split", "temperature", "uncertain_below", "litert", "onnx"} <= set(card)
    assert all("history" not in member for member in card["members"])
    full = full_card(MODEL)
    assert [member["file"] for member in full["members"]] == [member["file"] for member in card["members"]]


@each_model
def test_shipped_card_records_how_the_model_was_made(model):
    card = full_card(model)
    assert card["classes"] == list(EMOTIONS)
    assert card["data"]["fingerprint"].startswith("sha256:")
    assert card["training"]["seconds"] > 0 and card["training"]["hardware"]
    publictest = card["metrics"]["PublicTest"]
    assert publictest["n"] == 3589 and len(publictest["confusion_matrix"]) == 7
    if "members" in card:
        assert card["command"].startswith("python -m fer_core ensemble ") and len(card["members"]) >= 2
        assert all(member["data"]["fingerprint"] == card["data"]["fingerprint"] for member in card["members"])
    for made in trained_networks(card):
        assert made["architecture"] == made["config"]["arch"]
        assert len(made["history"]["val_accuracy"]) == made["training"]["epochs_run"]
        assert made["command"].startswith("python -m fer_core train ") and f"--arch {made['architecture']}" in made["command"]


def test_shipped_model_finds_and_labels_the_example_face():
    faces = Predictor.load().predict(REPO / "assets" / "example_astronaut.jpg")
    assert len(faces) == 1 and faces[0].label == "happy"  # she is smiling


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_CSV.exists(), reason="../shared/data/fer2013.csv.gz is absent")
@each_model
@pytest.mark.parametrize("tta, key", [(False, "PublicTest"), (True, "PublicTest (flip TTA)")])
def test_publictest_accuracy_matches_the_card_within_half_a_point(model, tta, key):
    data = load_dataset(SHARED_CSV).subset("PublicTest")
    predictor = Predictor.load(model)
    measured = predictor.evaluate(data.images, data.labels, split="PublicTest", tta=tta)
    card = json.loads(model.with_suffix(".json").read_text())
    assert abs(measured.accuracy - card["metrics"][key]["accuracy"]) <= 0.005
    engine = predictor.engine_name
    exported = card.get(engine, {}).get("accuracy")  # an int8 export: the card has its own numbers too
    if exported:  # int8 kernels round differently on CPUs with other vector instructions: a few faces
        assert measured.accuracy == pytest.approx(exported[f"{engine} (flip TTA)" if tta else engine], abs=0.002)
