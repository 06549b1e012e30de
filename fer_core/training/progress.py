"""The one progress interface training reports through: a callable taking a ``Progress``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Progress:
    """A snapshot of a training run, sent at each stage ("train_begin", "epoch_begin",
    "batch_end", "epoch_end", "train_end")."""

    stage: str
    epoch: int  # 1-based; 0 before the first epoch
    epochs: int
    batch: int = 0  # 1-based batches done in this epoch
    batches: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    elapsed_s: float = 0.0
    eta_s: float | None = None
    message: str = ""

    @property
    def fraction_done(self) -> float:
        """Overall progress in 0..1."""
        if not self.epochs:
            return 0.0
        within = self.batch / self.batches if self.batches else 0.0
        done_epochs = self.epoch if self.stage in ("epoch_end", "train_end") else max(self.epoch - 1, 0) + within
        return min(done_epochs / self.epochs, 1.0)


ProgressCallback = Callable[[Progress], None]
