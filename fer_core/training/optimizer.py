"""The optimizer and its learning-rate schedule."""

from __future__ import annotations

import math

from fer_core.training.config import TrainConfig


def learning_rate_at(config: TrainConfig, epoch: int) -> float:
    """The learning rate for 0-based ``epoch``: linear warm-up, then cosine decay (or constant)."""
    if epoch < config.warmup_epochs:
        return config.learning_rate * (epoch + 1) / (config.warmup_epochs + 1)
    if config.schedule != "cosine":
        return config.learning_rate
    span = max(config.epochs - config.warmup_epochs, 1)
    progress = (epoch - config.warmup_epochs) / span
    return 0.5 * config.learning_rate * (1 + math.cos(math.pi * min(progress, 1.0)))


def make_optimizer(config: TrainConfig):
    import keras

    # with config.ema the optimizer also keeps the weights' moving average (Polyak averaging)
    averaging = {"use_ema": True, "ema_momentum": config.ema} if config.ema else {}
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay, **averaging)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(config.learning_rate, momentum=0.9, nesterov=True,
                                    weight_decay=config.weight_decay or None, **averaging)
    return keras.optimizers.Adam(config.learning_rate, **averaging)
