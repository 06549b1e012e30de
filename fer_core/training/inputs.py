"""What ``fit`` is given: the training and validation rows, the targets, class weights, mixed batches."""

from __future__ import annotations

import numpy as np

from fer_core.data.dataset import Dataset
from fer_core.errors import ModelError, TrainingError
from fer_core.labels import NUM_CLASSES
from fer_core.training.config import TrainConfig


def class_weights(labels: np.ndarray, mode: str) -> dict[int, float] | None:
    """Per-class loss weights: None, balanced (n / (k * count)), or its square root."""
    if mode == "none":
        return None
    counts = np.bincount(labels, minlength=NUM_CLASSES).astype(np.float64)
    weights = np.where(counts > 0, len(labels) / (NUM_CLASSES * np.maximum(counts, 1)), 0.0)
    if mode == "sqrt":
        weights = np.sqrt(weights)
    return {i: float(w) for i, w in enumerate(weights)}


def split_train_val(data: Dataset, config: TrainConfig) -> tuple[Dataset, Dataset, str]:
    """The training rows and the validation rows; the name says where validation came from."""
    if config.train_split not in set(data.splits.tolist()):
        raise TrainingError(f"{data.source}: no rows in the training split {config.train_split!r}; "
                            f"the data has {', '.join(data.split_names)}")
    train = data.subset(config.train_split)
    if config.val_split in set(data.splits.tolist()) and config.val_split != config.train_split:
        return train, data.subset(config.val_split), config.val_split
    rng = np.random.default_rng(config.seed)
    held_out = np.zeros(len(train), dtype=bool)
    for label in np.unique(train.labels):
        rows = np.flatnonzero(train.labels == label)
        held_out[rng.choice(rows, size=max(1, len(rows) // 10), replace=False)] = True
    keep, hold = ~held_out, held_out
    make = lambda m, name: Dataset(train.images[m], train.labels[m], np.full(m.sum(), name),
                                   train.source, train.fingerprint)
    return make(keep, config.train_split), make(hold, "held-out 10%"), "held-out 10% of " + config.train_split


def training_targets(train_data: Dataset, config: TrainConfig) -> np.ndarray:
    """The targets to fit: one-hot labels, mixed with ``config.teacher``'s probabilities when one is set.

    The teacher sees each training face once, with its mirror (the flip TTA the app uses); the mix
    ``(1 - distill_weight) * one_hot + distill_weight * teacher`` is knowledge distillation with
    the teacher's soft labels fixed before training, so a small student can learn from a larger
    network or an ensemble at no cost per epoch.
    """
    one_hot = np.eye(NUM_CLASSES, dtype=np.float32)[train_data.labels]
    if not config.teacher:
        return one_hot
    from fer_core.artifacts.keras_files import load_keras_model
    from fer_core.metrics.probabilities import predict_probabilities

    try:
        teacher = load_keras_model(config.teacher)
    except ModelError as error:
        raise TrainingError(f"teacher: {error}") from None
    soft = predict_probabilities(teacher, train_data.images, tta=True).astype(np.float32)
    return (1 - config.distill_weight) * one_hot + config.distill_weight * soft


def training_input(x_train: np.ndarray, y_train: np.ndarray, config: TrainConfig, initial_epoch: int) -> dict:
    """``fit``'s training-data arguments: the arrays, or batches mixed by MixUp / CutMix."""
    from fer_core.training.mixing import MixedBatches, MixingConfig

    mixing = MixingConfig(mixup=config.mixup, cutmix=config.cutmix)
    if not mixing.enabled:
        return {"x": x_train, "y": y_train, "batch_size": config.batch_size, "shuffle": True}
    # a resumed run draws new pairs rather than repeating the first epochs' ones
    batches = MixedBatches(x_train, y_train, config.batch_size, mixing, seed=config.seed + 7919 * initial_epoch)
    return {"x": batches, "shuffle": False}
