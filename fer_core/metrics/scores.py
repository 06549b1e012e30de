"""Metrics for a model on a set of faces: accuracy, loss, per-class P/R/F1, confusion matrix."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from fer_core.labels import EMOTIONS
from fer_core.metrics.probabilities import predict_probabilities

ECE_BINS = 15


@dataclass
class Evaluation:
    """Everything ``evaluate`` measures; ``to_dict`` is the CLI's ``--json`` output."""

    split: str
    n: int
    accuracy: float
    loss: float
    macro_f1: float
    per_class: dict[str, dict[str, float]]
    confusion_matrix: list[list[int]]
    confusion_matrix_normalized: list[list[float]]
    ece: float
    tta: bool
    temperature: float = 1.0
    reliability: list[dict] = field(default_factory=list)  # reliability_bins(): the diagram's data

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int = len(EMOTIONS)) -> np.ndarray:
    """Counts: rows are true classes, columns predicted classes."""
    flat = np.bincount(labels * num_classes + predicted, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    """Per equal-width confidence bin: its edges, count, mean confidence and accuracy (the
    data of a reliability diagram; empty bins have count 0 and None for the means)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows = []
    for b in range(bins):
        in_bin = which == b
        rows.append({"lower": float(edges[b]), "upper": float(edges[b + 1]), "count": int(in_bin.sum()),
                     "confidence": float(confidence[in_bin].mean()) if in_bin.any() else None,
                     "accuracy": float(correct[in_bin].mean()) if in_bin.any() else None})
    return rows


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE: the confidence-weighted gap between confidence and accuracy over equal-width bins."""
    total = max(len(labels), 1)
    return float(sum(row["count"] / total * abs(row["accuracy"] - row["confidence"])
                     for row in reliability_bins(probabilities, labels, bins) if row["count"]))


def metrics_from_probabilities(probabilities: np.ndarray, labels: np.ndarray, *, split: str = "",
                               tta: bool = False, temperature: float = 1.0,
                               class_names: tuple[str, ...] = EMOTIONS) -> Evaluation:
    """Compute every metric from predicted probabilities and true labels."""
    if len(labels) == 0:
        raise ValueError("cannot evaluate on zero faces")
    predicted = probabilities.argmax(axis=1)
    counts = confusion_matrix(labels, predicted, len(class_names))
    true_positive = np.diag(counts).astype(np.float64)
    predicted_totals = counts.sum(axis=0)
    true_totals = counts.sum(axis=1)
    precision = np.divide(true_positive, predicted_totals, out=np.zeros_like(true_positive),
                          where=predicted_totals > 0)
    recall = np.divide(true_positive, true_totals, out=np.zeros_like(true_positive), where=true_totals > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros_like(true_positive),
                   where=denominator > 0)
    present = true_totals > 0
    loss = negative_log_likelihood(probabilities, labels)
    per_class = {
        name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
               "support": int(true_totals[i])}
        for i, name in enumerate(class_names)
    }
    normalized = np.divide(counts, true_totals[:, None], out=np.zeros(counts.shape), where=true_totals[:, None] > 0)
    return Evaluation(
        split=split, n=int(len(labels)), accuracy=float(np.mean(predicted == labels)), loss=float(loss),
        macro_f1=float(f1[present].mean()), per_class=per_class, confusion_matrix=counts.tolist(),
        confusion_matrix_normalized=np.round(normalized, 4).tolist(),
        ece=expected_calibration_error(probabilities, labels), tta=tta, temperature=temperature,
        reliability=reliability_bins(probabilities, labels),
    )


def evaluate_model(model, images: np.ndarray, labels: np.ndarray, *, split: str = "", tta: bool = False,
                   temperature: float = 1.0) -> Evaluation:
    """Run ``model`` over uint8 faces (N x 48 x 48) and measure it against ``labels``."""
    probabilities = predict_probabilities(model, images, tta=tta, temperature=temperature)
    return metrics_from_probabilities(probabilities, labels, split=split, tta=tta, temperature=temperature)


def confident_mistakes(probabilities: np.ndarray, labels: np.ndarray, k: int = 12) -> list[dict]:
    """The ``k`` wrong predictions made with the highest confidence: row, true, predicted, confidence."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    order = wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind="stable")][:k]
    return [{"row": int(i), "true": EMOTIONS[int(labels[i])], "predicted": EMOTIONS[int(predicted[i])],
             "confidence": float(probabilities[i, predicted[i]])} for i in order]


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean -log p(true class)."""
    return float(-np.mean(np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, 1.0))))
