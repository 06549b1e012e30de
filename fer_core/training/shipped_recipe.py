"""How the shipped model was made, read from its own card: each network's training settings and
time, and the commands that finish the networks and average them."""

from __future__ import annotations

import os
from dataclasses import dataclass

from fer_core.artifacts.cards import read_card
from fer_core.errors import ModelError
from fer_core.paths import DEFAULT_MODEL_PATH
from fer_core.training.config import TrainConfig

# Training faces per second on two cores of an AMD EPYC with AVX-512 BF16 (TensorFlow, one
# resampling), in float32 and in bfloat16, measured in one run of
# python -m bench.train_speed --arch vgg_fer_s vgg_fer --precision float32 bf16 --resampling single --batches 8
# (other runs on the same machine: vgg_fer_s 100-198 and 230-237, vgg_fer 50-66 and 84-95). An EPYC
# without AVX-512 BF16 emulates bfloat16: there it ran 7.8 and 2.1 faces/s, against 49.6 and 12.5 in float32.
CPU_FACES_PER_SECOND = {("vgg_fer_s", False): 160.0, ("vgg_fer_s", True): 230.0,
                        ("vgg_fer", False): 50.0, ("vgg_fer", True): 84.0}
CPU_DESCRIPTION = "two cores of an AMD EPYC with AVX-512 BF16"
# How much longer the same training takes on a CPU when Keras computes with JAX (Python 3.14, which
# TensorFlow has no wheels for): vgg_fer_s 59 against 150 faces/s in float32 on two cores of an
# Intel Xeon, KERAS_BACKEND=jax python -m bench.train_speed against the same under TensorFlow.
JAX_CPU_SLOWDOWN = 2.5


@dataclass(frozen=True)
class ShippedNetwork:
    """One network of the shipped ensemble, as its card recorded it."""

    name: str  # its file's name, e.g. net_1_blur
    config: TrainConfig
    train_rows: int
    seconds: float  # how long its training took
    hardware: str  # where it trained
    train_command: str  # the command that trained it
    blur_command: str  # the command that then gave it its input blur

    def cpu_hours(self, mixed_precision: bool = False) -> float | None:
        """About how long the same training takes on ``CPU_DESCRIPTION``, in float32 or bfloat16
        (None for an architecture not measured there)."""
        rate = CPU_FACES_PER_SECOND.get((self.config.arch, mixed_precision))
        return self.config.epochs * self.train_rows / rate / 3600 if rate else None


@dataclass(frozen=True)
class ShippedRecipe:
    """The networks of the shipped model and the command that averages them."""

    networks: tuple[ShippedNetwork, ...]
    ensemble_command: str
    accuracy: float  # on its validation split, flip TTA, as the app predicts
    validation_split: str


def shipped_recipe(model_path: str | os.PathLike = DEFAULT_MODEL_PATH) -> ShippedRecipe:
    """The recipe recorded in the card of the ensemble at ``model_path``; ModelError when the card
    lacks it."""
    card = read_card(model_path)
    members = card.get("members")
    if not isinstance(members, list) or not all(isinstance(m, dict) and "config" in m for m in members):
        raise ModelError(f"{model_path}: its card records no members with their training settings")
    networks = []
    for member in members:
        name = os.path.splitext(os.path.basename(str(member.get("file", "network"))))[0]
        networks.append(ShippedNetwork(
            name=name, config=TrainConfig.from_dict(member["config"]),
            train_rows=int(member.get("data", {}).get("train_rows", 0)),
            seconds=float(member.get("training", {}).get("seconds", 0.0)),
            hardware=str(member.get("training", {}).get("hardware", "")),
            train_command=str(member.get("derived_from", {}).get("command", "")),
            blur_command=str(member.get("command", ""))))
    split = card.get("validation_split", "PublicTest")
    accuracy = card.get("metrics", {}).get(f"{split} (flip TTA)", {}).get("accuracy", 0.0)
    return ShippedRecipe(tuple(networks), str(card.get("command", "")), float(accuracy), split)
