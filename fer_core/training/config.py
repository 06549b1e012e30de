"""``TrainConfig``: every setting of a training run, validated without importing Keras."""

from __future__ import annotations

from dataclasses import dataclass, fields

from fer_core.errors import TrainingError
from fer_core.nets.architectures import ARCHITECTURE_NAMES

SCHEDULES = ("cosine", "plateau", "constant")
OPTIMIZERS = ("adamw", "adam", "sgd")
CLASS_WEIGHTINGS = ("none", "balanced", "sqrt")
RESAMPLINGS = ("sequential", "single")
FILL_MODES = ("reflect", "nearest")  # how a shift, turn or zoom fills pixels from outside the face


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run; the model card records it verbatim."""

    arch: str = "vgg_fer_s"  # a name from architectures.ARCHITECTURE_NAMES
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 1e-3  # peak learning rate
    optimizer: str = "adamw"  # adamw | adam | sgd (Nesterov momentum 0.9)
    weight_decay: float = 1e-4  # AdamW / SGD decoupled weight decay
    schedule: str = "cosine"  # cosine (after warm-up) | plateau (halve on a stalled val loss) | constant
    warmup_epochs: int = 2
    augment: bool = True
    flip: bool = True  # random horizontal flips
    shift: float = 0.1  # random translation, fraction of the image
    rotation_degrees: float = 10.0
    zoom: float = 0.1
    resampling: str = "sequential"  # sequential (rotate, shift, zoom: 3 resamplings) | single (one affine transform)
    fill_mode: str = "reflect"  # reflect (the face mirrored at its edge) | nearest (edge pixels repeated, as the
    #                             app's crop of a face at a photo's edge is filled)
    erasing: float = 0.0  # probability of erasing a random patch (0: off)
    mixup: float = 0.0  # MixUp's Beta alpha: blend pairs of faces and targets (0: off; fer_core.training.mixing)
    cutmix: float = 0.0  # CutMix's Beta alpha: paste a patch of another face (0: off; both on: one a batch)
    ema: float = 0.0  # momentum of an exponential moving average of the weights, per step (0: off; e.g. 0.999)
    class_weighting: str = "none"  # none | balanced | sqrt (square root of balanced)
    label_smoothing: float = 0.0
    seed: int = 42
    early_stopping_patience: int = 0  # epochs without val-accuracy gain before stopping (0: never)
    train_split: str = "Training"
    val_split: str = "PublicTest"  # when the data lacks it, a stratified 10% of train is held out
    mixed_precision: bool = False  # bfloat16 compute: ~2x faster on CPUs with AMX, and on GPUs
    max_train_samples: int = 0  # 0: all; otherwise a random subset (smoke runs, tests)
    init_from: str = ""  # a .keras model of the same arch whose weights start the run (to continue from a trained network)
    teacher: str = ""  # a .keras model (an ensemble too) whose flip-TTA probabilities soften the targets
    distill_weight: float = 0.5  # with a teacher: target = (1 - weight) * one-hot + weight * teacher's

    def __post_init__(self) -> None:
        problems = []
        if self.arch not in ARCHITECTURE_NAMES:
            problems.append(f"arch {self.arch!r} is unknown; choose one of {', '.join(ARCHITECTURE_NAMES)}")
        if self.epochs < 1:
            problems.append("epochs must be at least 1")
        if self.batch_size < 1:
            problems.append("batch_size must be at least 1")
        if not self.learning_rate > 0:
            problems.append("learning_rate must be positive")
        for name, value, allowed in (("optimizer", self.optimizer, OPTIMIZERS), ("schedule", self.schedule, SCHEDULES),
                                     ("class_weighting", self.class_weighting, CLASS_WEIGHTINGS),
                                     ("resampling", self.resampling, RESAMPLINGS),
                                     ("fill_mode", self.fill_mode, FILL_MODES)):
            if value not in allowed:
                problems.append(f"{name} {value!r} is unknown; choose one of {', '.join(allowed)}")
        if not 0 <= self.label_smoothing < 1:
            problems.append("label_smoothing must be in [0, 1)")
        if not 0 <= self.erasing <= 1:
            problems.append("erasing must be a probability in [0, 1]")
        if not 0 <= self.distill_weight <= 1:
            problems.append("distill_weight must be in [0, 1]")
        if not 0 <= self.ema < 1:
            problems.append("ema is a momentum in [0, 1): 0 (off) or, say, 0.999")
        for name, alpha in (("mixup", self.mixup), ("cutmix", self.cutmix)):
            if not alpha >= 0:
                problems.append(f"{name} is the alpha of a Beta law: 0 (off) or positive")
        if problems:
            raise TrainingError("invalid training settings: " + "; ".join(problems))

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """A config from a dict (a model card's ``config``), ignoring unknown keys."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
