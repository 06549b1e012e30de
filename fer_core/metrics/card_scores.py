"""The measurements a model card holds: metrics per split and the fitted temperature.

Training, ``ensemble`` and ``blur`` all write cards through ``card_scores``, which runs the
model over the validation faces once plain and once mirrored and derives every validation
figure (plain, flip TTA, calibration) from those two passes.
"""

from __future__ import annotations

from dataclasses import dataclass

from fer_core.data.dataset import Dataset
from fer_core.metrics.calibration import calibrate
from fer_core.metrics.probabilities import plain_and_flip_tta, predict_probabilities
from fer_core.metrics.scores import metrics_from_probabilities


@dataclass(frozen=True)
class CardOptions:
    """What is measured for a model card once a model is made (tests skip the slow parts)."""

    score_training_split: bool = True  # accuracy on every training face: the slowest part
    calibrate: bool = True  # fit the temperature and the "uncertain" threshold on the validation split


def card_scores(model, train: Dataset, validation: Dataset, *, train_name: str, val_name: str,
                options: CardOptions = CardOptions()) -> dict:
    """The card entries ``metrics`` (training split, validation split, validation with flip TTA)
    and, when ``options.calibrate``, ``temperature``, ``uncertain_below`` and ``calibration``."""
    plain, both = plain_and_flip_tta(model, validation.images)
    metrics = {}
    if options.score_training_split:
        metrics[train_name] = metrics_from_probabilities(predict_probabilities(model, train.images), train.labels,
                                                         split=train_name).to_dict()
    metrics[val_name] = metrics_from_probabilities(plain, validation.labels, split=val_name).to_dict()
    metrics[f"{val_name} (flip TTA)"] = metrics_from_probabilities(both, validation.labels, split=val_name,
                                                                   tta=True).to_dict()
    entries: dict = {"metrics": metrics}
    if options.calibrate:
        result = calibrate(both, validation.labels, split=val_name, tta=True)
        entries.update(temperature=result.temperature, uncertain_below=result.uncertain_below,
                       calibration=result.to_dict())
    return entries

