"""The model card of a trained network: what was trained, on what, how, how long, and how well."""

from __future__ import annotations

import os
from dataclasses import asdict

from fer_core.artifacts.cards import card_header, changed_settings, command_line
from fer_core.data.dataset import Dataset
from fer_core.metrics.card_scores import CardOptions
from fer_core.training.config import TrainConfig
from fer_core.training.hardware import environment_record


def reproduce_command(config: TrainConfig, data_path: str, out_path: str | os.PathLike | None) -> str:
    """The ``python -m fer_core train`` command line that trains this config again."""
    changed = changed_settings(config, TrainConfig(), keep=("arch",))
    return command_line("train", data=data_path, out=out_path or "MODEL.keras", **changed)


def build_card(model, config: TrainConfig, data: Dataset, train_data: Dataset, val_data: Dataset, val_name: str,
               history: dict, seconds: float, *, best_epoch: int | None, stopped_by_request: bool,
               epochs_done: int, card_options: CardOptions = CardOptions()) -> dict:
    """The model card: what was trained, on what, how, how long, and how well."""
    from fer_core.metrics.card_scores import card_scores

    scores = card_scores(model, train_data, val_data, train_name=config.train_split, val_name=val_name,
                         options=card_options)
    card = card_header(name=config.arch, architecture=config.arch, model=model, config=asdict(config), data=data,
                       train_data=train_data, validation=val_name, validation_data=val_data)
    card.update(
        training={"seconds": round(seconds, 1), "epochs_run": epochs_done, "best_epoch": best_epoch,
                  "stopped_by_request": stopped_by_request, **environment_record()},
        history=history,
        **scores,
        validation_split=val_name,
    )
    return card


def lineage(parent_path: str) -> dict:
    """What a parent model's card (the starting weights or the teacher) says about how it was made:
    its command and settings, and for a blurred network the command that trained it, so a network
    fine-tuned from it can be made again from scratch."""
    from fer_core.artifacts.cards import read_card

    parent = read_card(parent_path)
    keep = ("command", "config", "training", "initialised_from", "distilled_from")
    derived = {k: parent["derived_from"][k] for k in ("model", "command") if k in parent.get("derived_from", {})}
    return {"model": str(parent_path), **{k: parent[k] for k in keep if k in parent},
            **({"derived_from": derived} if derived else {}),
            "validation_accuracy": parent.get("metrics", {}).get(parent.get("validation_split", ""), {}).get("accuracy")}
