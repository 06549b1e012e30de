"""``blur``: choose the width of a network's input blur on the validation split and write the blurred model."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_core.artifacts.cards import changed_settings, command_line
from fer_core.artifacts.keras_files import check_output_path
from fer_core.data.dataset import Dataset
from fer_core.errors import ModelError
from fer_core.nets.input_blur import blur_radius, with_input_blur

DEFAULT_SIGMAS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)

CRITERION = "lowest log loss with flip TTA"


@dataclass(frozen=True)
class BlurConfig:
    """Which network to blur, and the blur widths (Gaussian sigma, pixels) to choose from."""

    model: str  # a .keras network with its model card
    sigmas: tuple[float, ...] = DEFAULT_SIGMAS  # one value: use it; several: the best on val_split
    train_split: str = "Training"
    val_split: str = "PublicTest"

    def __post_init__(self) -> None:
        if not self.sigmas:
            raise ModelError("give at least one blur sigma")
        if any(not 0 <= sigma <= 3 for sigma in self.sigmas):
            raise ModelError(f"blur sigmas must be between 0 and 3 pixels; got {list(self.sigmas)}")


@dataclass(frozen=True)
class BlurTrial:
    """How the network does on the validation split with one blur width."""

    sigma: float
    log_loss: float  # with flip TTA, the criterion
    accuracy: float
    accuracy_tta: float

    def to_dict(self) -> dict:
        return {"sigma": self.sigma, "log_loss": round(self.log_loss, 5), "accuracy": round(self.accuracy, 5),
                "accuracy_tta": round(self.accuracy_tta, 5)}


def try_blurs(network, images: np.ndarray, labels: np.ndarray, sigmas) -> list[BlurTrial]:
    """Measure the network with each blur width on labelled faces (plain and with flip TTA)."""
    from fer_core.metrics.probabilities import plain_and_flip_tta
    from fer_core.metrics.scores import negative_log_likelihood

    trials = []
    for sigma in sigmas:
        model = with_input_blur(network, float(sigma))
        plain, tta = plain_and_flip_tta(model, images)
        trials.append(BlurTrial(float(sigma), negative_log_likelihood(tta, labels),
                                float(np.mean(plain.argmax(1) == labels)), float(np.mean(tta.argmax(1) == labels))))
    return trials


def best_trial(trials: list[BlurTrial]) -> BlurTrial:
    """The trial with the lowest flip-TTA log loss (ties: the smaller blur)."""
    return min(trials, key=lambda trial: (trial.log_loss, trial.sigma))


def make_blurred_model(config: BlurConfig, data: Dataset, out_path: str | os.PathLike, *,
                       overwrite: bool = False, command: str = "") -> dict:
    """Choose the blur on ``config.val_split``, then write the blurred network and its card; returns the card.

    The card keeps the network's own card (how it was trained, its history) and adds the blur,
    every trial, fresh metrics and a fresh calibration. Both files are written atomically, only
    after everything succeeded, so ``out_path`` may be the network's own file (with ``overwrite``).
    """
    from fer_core.artifacts.cards import check_card, read_card
    from fer_core.artifacts.keras_files import load_keras_model, save_model_with_card
    from fer_core.metrics.card_scores import card_scores

    out = Path(out_path)
    check_output_path(out, overwrite=overwrite)
    started = time.monotonic()
    network = load_keras_model(config.model)
    card = read_card(config.model)
    if not card:
        raise ModelError(f"{config.model}: has no model card; the blurred model's card extends the network's, "
                         "so the network needs one")
    check_card(card, config.model, network)
    trained_on = card.get("data", {}).get("fingerprint")
    if trained_on and trained_on != data.fingerprint:
        raise ModelError(f"{config.model}: was trained on data {trained_on}, but --data is {data.fingerprint}; "
                         "choose the blur on the validation split of the data the network was trained on")
    val_data, train_data = data.subset(config.val_split), data.subset(config.train_split)
    trials = try_blurs(network, val_data.images, val_data.labels, config.sigmas)
    chosen = best_trial(trials)
    model = with_input_blur(network, chosen.sigma)
    blurred_card = {key: value for key, value in card.items() if key not in ("litert", "onnx", "command")}
    blurred_card.update(
        name=f"{card.get('name', 'model')} + input blur (Gaussian sigma {chosen.sigma:g} px)",
        parameters=int(model.count_params()),
        input_blur={"sigma": chosen.sigma, "radius": blur_radius(chosen.sigma) if chosen.sigma else 0,
                    "chosen_on": config.val_split, "criterion": CRITERION,
                    "trials": [trial.to_dict() for trial in trials]},
        derived_from={"model": str(config.model), **{key: card[key] for key in ("command", "metrics") if key in card}},
        command=command or blur_command(config, data.source, out),
    )
    blurred_card.update(card_scores(model, train_data, val_data, train_name=config.train_split,
                                    val_name=config.val_split))
    blurred_card["input_blur"]["seconds"] = round(time.monotonic() - started, 1)
    save_model_with_card(model, blurred_card, out)
    return blurred_card


def blur_command(config: BlurConfig, data_path: str, out: Path) -> str:
    """The ``python -m fer_core blur`` command line that makes this model again."""
    changed = changed_settings(config, BlurConfig(model=""), skip=("model",))
    if "sigmas" in changed:
        changed["sigmas"] = ",".join(f"{sigma:g}" for sigma in config.sigmas)
    return command_line("blur", model=config.model, data=data_path, out=out, **changed)
