"""Temperature scaling, reliability bins and the "uncertain" threshold."""

import json

import numpy as np
import pytest

from fer_core.metrics.calibration import calibrate, fit_temperature, uncertain_threshold
from fer_core.metrics.probabilities import apply_temperature
from fer_core.metrics.scores import expected_calibration_error, reliability_bins


def calibrated_sample(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities that are calibrated by construction: labels are drawn from them."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (n, 7))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(7, p=p) for p in probabilities])
    return probabilities, labels


def test_a_calibrated_model_keeps_a_temperature_near_one():
    probabilities, labels = calibrated_sample()
    assert fit_temperature(probabilities, labels) == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("distortion", [0.5, 2.0])  # over-confident (T < 1 applied), under-confident
def test_temperature_undoes_a_distortion_and_lowers_ece_without_changing_accuracy(distortion):
    probabilities, labels = calibrated_sample()
    distorted = apply_temperature(probabilities, distortion)
    result = calibrate(distorted, labels, split="synthetic")
    assert result.temperature == pytest.approx(1 / distortion, rel=0.15)
    assert result.ece_after < result.ece_before and result.ece_after < 0.03
    assert result.nll_after <= result.nll_before
    assert result.accuracy_after == result.accuracy_before
    assert json.loads(json.dumps(result.to_dict()))["split"] == "synthetic"


def test_reliability_bins_cover_every_face_and_give_the_ece():
    probabilities, labels = calibrated_sample(n=500)
    bins = reliability_bins(probabilities, labels)
    assert len(bins) == 15 and sum(b["count"] for b in bins) == 500
    assert bins[0]["lower"] == 0.0 and bins[-1]["upper"] == 1.0
    manual = sum(b["count"] / 500 * abs(b["accuracy"] - b["confidence"]) for b in bins if b["count"])
    assert expected_calibration_error(probabilities, labels) == pytest.approx(manual)


def test_uncertain_threshold_is_where_the_model_becomes_more_often_right_than_wrong():
    probabilities, labels = calibrated_sample(n=20000)
    threshold = uncertain_threshold(probabilities, labels)
    top = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    assert 0.4 <= threshold <= 0.6  # calibrated: accuracy reaches 50% around 50% confidence
    assert correct[top >= threshold].mean() > 0.5 > correct[top < threshold].mean()


def test_a_model_never_right_is_always_uncertain():
    probabilities, labels = calibrated_sample(n=1000)
    wrong = (probabilities.argmax(axis=1) + 1) % 7
    assert uncertain_threshold(probabilities, wrong) == 1.0


def test_calibrate_cli_writes_temperature_and_evidence_to_the_card(tiny_model_path, tiny_csv, tmp_path, capsys):
    import shutil

    from fer_core.artifacts.cards import read_card
    from fer_core.cli import main
    from fer_core.inference.predictor import Predictor

    model = tmp_path / "m.keras"
    shutil.copy(tiny_model_path, model)
    shutil.copy(tiny_model_path.with_suffix(".json"), model.with_suffix(".json"))
    assert main(["calibrate", "--model", str(model), "--data", str(tiny_csv), "--split", "PublicTest",
                 "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    card = read_card(model)
    assert card["temperature"] == printed["temperature"] > 0
    assert card["calibration"]["ece_after"] == printed["ece_after"]
    predictor = Predictor.load(model)
    assert predictor.temperature == card["temperature"]
    assert predictor.uncertain_below == card["uncertain_below"]
