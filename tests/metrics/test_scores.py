"""fer_core.metrics.scores: metrics computed from probabilities, checked against hand-worked values."""

from __future__ import annotations

import numpy as np
import pytest

from fer_core.metrics.probabilities import apply_temperature
from fer_core.metrics.scores import (
    confusion_matrix,
    expected_calibration_error,
    metrics_from_probabilities,
)


def _one_hot_probabilities(predicted, confidence=0.9):
    probabilities = np.full((len(predicted), 7), (1 - confidence) / 6)
    probabilities[np.arange(len(predicted)), predicted] = confidence
    return probabilities


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    counts = confusion_matrix(np.array([0, 0, 1, 3]), np.array([0, 1, 1, 3]))
    assert counts[0, 0] == 1 and counts[0, 1] == 1 and counts[1, 1] == 1 and counts[3, 3] == 1
    assert counts.sum() == 4


def test_metrics_match_hand_computed_values():
    labels = np.array([0, 0, 0, 1, 1, 3])
    predicted = np.array([0, 0, 1, 1, 0, 3])
    result = metrics_from_probabilities(_one_hot_probabilities(predicted), labels, split="test")
    assert result.accuracy == pytest.approx(4 / 6)
    assert result.per_class["angry"]["precision"] == pytest.approx(2 / 3)
    assert result.per_class["angry"]["recall"] == pytest.approx(2 / 3)
    assert result.per_class["disgust"]["f1"] == pytest.approx(0.5)
    assert result.per_class["happy"]["f1"] == pytest.approx(1.0)
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.5 + 1.0) / 3)  # classes with support only
    assert result.loss == pytest.approx(-(4 * np.log(0.9) + 2 * np.log(0.1 / 6)) / 6)
    assert result.confusion_matrix_normalized[0][:2] == pytest.approx([2 / 3, 1 / 3], abs=1e-4)
    assert result.n == 6 and result.split == "test"


def test_perfectly_calibrated_predictions_have_zero_ece():
    labels = np.array([0] * 9 + [1])
    probabilities = _one_hot_probabilities(np.zeros(10, int), confidence=0.9)
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.0, abs=1e-9)


def test_overconfident_predictions_have_ece_equal_to_the_gap():
    labels = np.array([0] * 5 + [1] * 5)
    probabilities = _one_hot_probabilities(np.zeros(10, int), confidence=0.9)
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.4)


def test_temperature_above_one_softens_and_keeps_the_argmax():
    probabilities = _one_hot_probabilities(np.array([2, 5]), 0.8)
    softened = apply_temperature(probabilities, 2.0)
    assert (softened.argmax(1) == probabilities.argmax(1)).all()
    assert (softened.max(1) < probabilities.max(1)).all()
    np.testing.assert_allclose(softened.sum(1), 1.0)
