"""The Train page's form as data: what a person chose, turned into a ``TrainConfig``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fer_core.errors import TrainingError
from fer_core.training.config import TrainConfig

# the choices the form offers for mixing pairs of faces, and the TrainConfig fields each sets
MIXING = {"none": {}, "MixUp (alpha 0.2)": {"mixup": 0.2}, "CutMix (alpha 1.0)": {"cutmix": 1.0}}
EMA_MOMENTUM = 0.999  # the weight average's momentum per step when the form's EMA toggle is on
MODEL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


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
                           ema=EMA_MOMENTUM if self.ema else 0.0, **MIXING[self.mixing])
