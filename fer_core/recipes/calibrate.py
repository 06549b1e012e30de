"""``calibrate``: fit a saved model's temperature on labelled faces and store it in its card.

Kept apart from ``calibration`` (the maths), which the predictor itself uses: this file runs a
predictor, so the two would otherwise import each other.
"""

from __future__ import annotations

import numpy as np

from fer_core.metrics.calibration import Calibration, calibrate


def calibrate_model_file(model_path, images: np.ndarray, labels: np.ndarray, *, split: str, tta: bool = True) -> Calibration:
    """Fit the temperature of a saved model on faces and write it (and the evidence) into its card."""
    from fer_core.artifacts.cards import card_path, read_card, write_json_atomically
    from fer_core.inference.predictor import Predictor

    predictor = Predictor.load(model_path)
    predictor.temperature = 1.0  # fit on the raw outputs, whatever the card said before
    result = calibrate(predictor.probabilities(images, tta=tta), labels, split=split, tta=tta)
    card = read_card(model_path)
    card.update(temperature=result.temperature, uncertain_below=result.uncertain_below,
                calibration=result.to_dict())
    write_json_atomically(card, card_path(model_path))
    return result
