"""The Train page's form as data: what a person chose, turned into a ``TrainConfig``."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from fer_core.errors import TrainingError
from fer_core.training.config import TrainConfig

# the choices the form offers for mixing pairs of faces, and the TrainConfig fields each sets
MIXING = {"none": {}, "MixUp (alpha 0.2)": {"mixup": 0.2}, "CutMix (alpha 1.0)": {"cutmix": 1.0}}
EMA_MOMENTUM = 0.999  # the weight average's momentum per step when the form's EMA toggle is on
MODEL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# the Train page's widget keys, and the TrainForm field each one holds
FORM_KEYS = {"train_arch": "arch", "train_epochs": "epochs", "train_max_samples": "max_train_samples",
             "train_name": "name", "train_batch_size": "batch_size", "train_learning_rate": "learning_rate",
             "train_augment": "augment", "train_weights": "class_weighting", "train_smoothing": "label_smoothing",
             "train_weight_decay": "weight_decay", "train_erasing": "erasing", "train_mixing": "mixing",
             "train_single": "single_resampling", "train_ema": "ema", "train_bf16": "mixed_precision",
             "train_seed": "seed"}


@dataclass(frozen=True)
class TrainForm:
    """The Train form's answers, with the form's own defaults."""

    arch: str = TrainConfig.arch
    epochs: int = 10
    max_train_samples: int = 0
    name: str = "my_model"
    batch_size: int = TrainConfig.batch_size
    learning_rate: float = TrainConfig.learning_rate
    augment: bool = True
    class_weighting: str = "none"
    label_smoothing: float = 0.0
    weight_decay: float = TrainConfig.weight_decay
    erasing: float = 0.0
    mixing: str = "none"
    single_resampling: bool = False
    ema: bool = False
    mixed_precision: bool = False
    seed: int = TrainConfig.seed

    def check_name(self) -> None:
        """TrainingError unless the model's name is safe as a file name."""
        if not MODEL_NAME.fullmatch(self.name):
            raise TrainingError("The name may hold letters, digits, - and _ only (at most 64).")

    def to_config(self) -> TrainConfig:
        """The training run these answers ask for (validated by ``TrainConfig``)."""
        return TrainConfig(arch=self.arch, epochs=int(self.epochs), batch_size=int(self.batch_size),
                           learning_rate=float(self.learning_rate), augment=self.augment,
                           class_weighting=self.class_weighting, label_smoothing=float(self.label_smoothing),
                           max_train_samples=int(self.max_train_samples), warmup_epochs=min(2, int(self.epochs) - 1),
                           weight_decay=float(self.weight_decay), erasing=float(self.erasing),
                           resampling="single" if self.single_resampling else "sequential",
                           ema=EMA_MOMENTUM if self.ema else 0.0, mixed_precision=self.mixed_precision,
                           seed=int(self.seed), **MIXING[self.mixing])

    @classmethod
    def from_config(cls, config: TrainConfig, name: str) -> "TrainForm":
        """The answers that ask for ``config`` (a shipped network's settings); TrainingError when the
        form cannot express one of its settings."""
        wanted = {"mixup": config.mixup, "cutmix": config.cutmix}
        mixing = next((label for label, values in MIXING.items() if {"mixup": 0.0, "cutmix": 0.0, **values} == wanted),
                      None)
        form = cls(arch=config.arch, epochs=config.epochs, max_train_samples=config.max_train_samples, name=name,
                   batch_size=config.batch_size, learning_rate=config.learning_rate, augment=config.augment,
                   class_weighting=config.class_weighting, label_smoothing=config.label_smoothing,
                   weight_decay=config.weight_decay, erasing=config.erasing, mixing=mixing or "none",
                   single_resampling=config.resampling == "single", ema=config.ema > 0,
                   mixed_precision=config.mixed_precision, seed=config.seed)
        differ = [f.name for f in fields(TrainConfig) if getattr(form.to_config(), f.name) != getattr(config, f.name)]
        if mixing is None or differ:
            raise TrainingError(f"the Train form cannot set {', '.join(differ) or 'the mixing'} as this run had it; "
                                "train it from the command line")
        return form

    def widget_values(self) -> dict:
        """The answers keyed by the Train page's widget keys, to fill its form with."""
        return {key: getattr(self, name) for key, name in FORM_KEYS.items()}
