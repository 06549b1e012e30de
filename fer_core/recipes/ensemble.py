"""Ensembles: several trained models averaged into one ``.keras`` file with its own model card.

Independently trained networks make different mistakes, so the mean of their probabilities is
more accurate than any one of them. The ensemble is an ordinary Keras functional model (the
members are nested models, the output a ``layers.Average``), so it saves, loads in safe mode,
exports to ONNX or LiteRT and predicts like any other model in ``models/``. Its card records every
member's own card (command, history, metrics), so the chain of commands that made it stays
reproducible.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from fer_core.artifacts.cards import card_header, changed_settings, command_line
from fer_core.artifacts.keras_files import check_output_path
from fer_core.data.dataset import Dataset
from fer_core.errors import ModelError
from fer_core.nets.graph import build_ensemble, ensemble_members
from fer_core.training.hardware import environment_record

COMBINE = "mean of the members' probabilities"
MEMBER_CARD_KEYS = ("architecture", "parameters", "command", "config", "data", "training", "history",
                    "validation_split", "initialised_from", "input_blur", "derived_from")


@dataclass(frozen=True)
class EnsembleConfig:
    """What to combine and where to measure it."""

    members: tuple[str, ...]  # .keras files, each with its model card beside it
    train_split: str = "Training"  # the split the members were trained on (measured for the card)
    val_split: str = "PublicTest"  # the split the members' best epochs were chosen on
    weights_dtype: str = "float32"  # "float16" stores the weights in half the space (fer_core.nets.weights_dtype)

    def __post_init__(self) -> None:
        from fer_core.nets.weights_dtype import WEIGHTS_DTYPES

        if self.weights_dtype not in WEIGHTS_DTYPES:
            raise ModelError(f"--weights-dtype must be {' or '.join(WEIGHTS_DTYPES)}; got {self.weights_dtype!r}")


def _load_member(path: Path, data: Dataset, config: EnsembleConfig):
    """A member model and its card, refused when the card cannot vouch for how it was made."""
    from fer_core.artifacts.cards import check_card, read_card
    from fer_core.artifacts.keras_files import load_keras_model

    model = load_keras_model(path)
    card = read_card(path)
    if not card:
        raise ModelError(f"{path}: has no model card ({path.with_suffix('.json').name}); an ensemble's card "
                         "records how each member was made, so every member needs one")
    check_card(card, path, model)
    if ensemble_members(model):
        raise ModelError(f"{path}: is itself an ensemble; list its members instead")
    trained_on = card.get("data", {}).get("fingerprint")
    if trained_on != data.fingerprint:
        raise ModelError(f"{path}: was trained on data {trained_on}, but --data is {data.fingerprint}; "
                         "the members and the ensemble must be measured on the same dataset")
    chosen_on = card.get("validation_split")
    if chosen_on != config.val_split:
        raise ModelError(f"{path}: its best epoch was chosen on {chosen_on!r}, not {config.val_split!r}")
    return model, card


def make_ensemble(config: EnsembleConfig, data: Dataset, out_path: str | os.PathLike, *,
                  overwrite: bool = False, command: str = "") -> dict:
    """Average the member models, measure the ensemble, fit its temperature, and write it with its card.

    Returns the card. The model and card are written atomically, only after everything
    succeeded, so ``out_path`` may even be one of the members (with ``overwrite``).
    """
    from fer_core.artifacts.keras_files import save_model_with_card
    from fer_core.metrics.card_scores import card_scores

    out = Path(out_path)
    check_output_path(out, overwrite=overwrite)
    if len(config.members) < 2:
        raise ModelError("an ensemble needs at least two member models")
    resolved = [Path(member).resolve() for member in config.members]
    if len(set(resolved)) != len(resolved):
        raise ModelError("the same model is listed twice; an ensemble of copies is no better than one")
    started = time.monotonic()
    loaded = [_load_member(Path(member), data, config) for member in config.members]
    model = build_ensemble([member for member, _ in loaded])
    stored = model
    if config.weights_dtype != "float32":
        from fer_core.nets.weights_dtype import with_weights_dtype

        stored = with_weights_dtype(model, config.weights_dtype)
        model = with_weights_dtype(stored, "float32")  # measured as it will compute once loaded
    train_data, val_data = data.subset(config.train_split), data.subset(config.val_split)
    cards = [card for _, card in loaded]
    card = card_header(
        name="ensemble", architecture="ensemble of " + " + ".join(card.get("architecture", "?") for card in cards),
        model=model, data=data, train_data=train_data, validation=config.val_split, validation_data=val_data,
        config={"arch": "ensemble", "members": [str(member) for member in config.members], "combine": COMBINE,
                "train_split": config.train_split, "val_split": config.val_split,
                "weights_dtype": config.weights_dtype})
    card.update(
        training=_training_summary(cards),
        validation_split=config.val_split,
        command=command or ensemble_command(config, data.source, out),
        members=[_member_entry(member, card) for member, card in zip(config.members, cards)],
    )
    card.update(card_scores(model, train_data, val_data, train_name=config.train_split, val_name=config.val_split))
    card["training"]["ensemble_seconds"] = round(time.monotonic() - started, 1)
    save_model_with_card(stored, card, out)
    return card


def ensemble_command(config: EnsembleConfig, data_path: str, out: Path) -> str:
    """The ``python -m fer_core ensemble`` command line that builds this ensemble again."""
    changed = changed_settings(config, EnsembleConfig(members=()), skip=("members",))
    return command_line("ensemble", *config.members, data=data_path, out=out, **changed)


def _member_entry(path: str, card: dict) -> dict:
    """What the ensemble's card keeps of a member's card: how it was made and how well it did."""
    split = card.get("validation_split", "")
    metrics = card.get("metrics", {})
    return {"file": str(path), **{key: card[key] for key in MEMBER_CARD_KEYS if key in card},
            "metrics": {name: {"accuracy": m.get("accuracy"), "macro_f1": m.get("macro_f1")}
                        for name, m in metrics.items() if name.startswith(split)}}


def _training_summary(cards: list[dict]) -> dict:
    """The ensemble's training record: the members' training time (warm-start parents not included)."""
    return {
        "seconds": round(sum(card.get("training", {}).get("seconds", 0.0) for card in cards), 1),
        "member_seconds": [card.get("training", {}).get("seconds") for card in cards],
        "member_hardware": [card.get("training", {}).get("hardware") for card in cards],
        "epochs_run": sum(card.get("training", {}).get("epochs_run", 0) for card in cards),
        **environment_record(),
    }
