"""``ProgressBar``: training progress as one line of text on stderr."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """A one-line text progress bar for training, written to a stream (stderr)."""

    def __init__(self, stream=None, width: int = 28):
        self.stream = stream or sys.stderr  # looked up now, not at import: tests and callers may redirect it
        self.width = width
        self._last_draw = 0.0

    def __call__(self, progress) -> None:
        now = time.monotonic()
        if progress.stage == "batch_end" and now - self._last_draw < 0.2 and progress.batch != progress.batches:
            return
        self._last_draw = now
        if progress.stage == "epoch_end":
            m = progress.metrics
            raw = f"  (raw weights {m['val_accuracy_raw']:.4f})" if "val_accuracy_raw" in m else ""  # an EMA run
            self.stream.write(f"\repoch {progress.epoch}/{progress.epochs}  loss {m.get('loss', 0):.4f}  "
                              f"acc {m.get('accuracy', 0):.4f}  val_loss {m.get('val_loss', 0):.4f}  "
                              f"val_acc {m.get('val_accuracy', 0):.4f}{raw}  "
                              f"({progress.history.get('epoch_seconds', [0])[-1]:.0f}s)" + " " * 10 + "\n")
        elif progress.stage == "batch_end":
            filled = int(self.width * progress.batch / max(progress.batches, 1))
            eta = f"ETA {clock(progress.eta_s)}" if progress.eta_s is not None else ""
            self.stream.write(f"\repoch {progress.epoch}/{progress.epochs} [{'#' * filled}{'.' * (self.width - filled)}] "
                              f"{progress.batch}/{progress.batches}  loss {progress.metrics.get('loss', 0):.4f}  {eta}   ")
        elif progress.stage == "train_end" and progress.message:
            self.stream.write(f"saved {progress.message}\n")
        self.stream.flush()


def clock(seconds: float) -> str:
    """``3725`` -> ``1:02:05``."""
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
