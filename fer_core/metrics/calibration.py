"""Trustworthy confidence: temperature scaling and the "uncertain" threshold.

A network trained with cross-entropy (and label smoothing) is rarely calibrated: when it says
70% it is right more or less often than 70% of the time. Temperature scaling (Guo et al., 2017)
divides the log-probabilities by one number T, fitted on held-out faces to minimise the
negative log-likelihood; the ranking of classes, hence accuracy, is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer_core.metrics.probabilities import apply_temperature
from fer_core.metrics.scores import (
    expected_calibration_error,
    negative_log_likelihood,
    reliability_bins,
)

MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0
DEFAULT_UNCERTAIN_BELOW = 0.4  # used when a model card has no calibration


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The T in [0.05, 20] minimising NLL of softmax(log p / T): golden-section search on log T
    (the NLL is convex in 1/T, hence unimodal in log T)."""
    if len(labels) == 0:
        raise ValueError("cannot fit a temperature on zero faces")
    nll = lambda log_t: negative_log_likelihood(apply_temperature(probabilities, float(np.exp(log_t))), labels)
    low, high = np.log(MIN_TEMPERATURE), np.log(MAX_TEMPERATURE)
    ratio = (np.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = nll(a), nll(b)
    for _ in range(60):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = nll(a)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = nll(b)
    return float(np.exp((low + high) / 2))


def uncertain_threshold(probabilities: np.ndarray, labels: np.ndarray, *, min_accuracy: float = 0.5,
                        min_count: int = 20) -> float:
    """The top-probability below which the model is more often wrong than right.

    Read off the reliability data: the lower edge of the first confidence bin (from low to high,
    bins holding at least ``min_count`` faces) whose accuracy reaches ``min_accuracy``, when
    every better-populated bin above it does too.
    """
    rows = [r for r in reliability_bins(probabilities, labels) if r["count"] >= min_count]
    for index, row in enumerate(rows):
        if all(r["accuracy"] >= min_accuracy for r in rows[index:]):
            return round(row["lower"], 4)
    return 1.0


@dataclass
class Calibration:
    """A fitted temperature and what it changed, as stored in the model card."""

    split: str
    n: int
    tta: bool
    temperature: float
    ece_before: float
    ece_after: float
    nll_before: float
    nll_after: float
    accuracy_before: float
    accuracy_after: float
    uncertain_below: float
    reliability_before: list[dict]
    reliability_after: list[dict]

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def calibrate(probabilities: np.ndarray, labels: np.ndarray, *, split: str = "", tta: bool = False) -> Calibration:
    """Fit a temperature on raw (T = 1) probabilities and measure ECE, NLL and accuracy before and after."""
    temperature = fit_temperature(probabilities, labels)
    scaled = apply_temperature(probabilities, temperature)
    accuracy = lambda p: float(np.mean(p.argmax(axis=1) == labels))
    return Calibration(
        split=split, n=int(len(labels)), tta=tta, temperature=round(temperature, 5),
        ece_before=expected_calibration_error(probabilities, labels),
        ece_after=expected_calibration_error(scaled, labels),
        nll_before=negative_log_likelihood(probabilities, labels),
        nll_after=negative_log_likelihood(scaled, labels),
        accuracy_before=accuracy(probabilities), accuracy_after=accuracy(scaled),
        uncertain_below=uncertain_threshold(scaled, labels),
        reliability_before=reliability_bins(probabilities, labels),
        reliability_after=reliability_bins(scaled, labels),
    )


def reliability_before_after(scaled: np.ndarray, labels: np.ndarray, temperature: float) -> dict:
    """Reliability bins and ECE of temperature-scaled probabilities and of the raw ones they came from."""
    raw = apply_temperature(scaled, 1.0 / temperature)  # softmax(T * log p') undoes softmax(log p / T)
    return {"temperature": temperature,
            "ece_before": expected_calibration_error(raw, labels), "ece_after": expected_calibration_error(scaled, labels),
            "reliability_before": reliability_bins(raw, labels), "reliability_after": reliability_bins(scaled, labels)}
