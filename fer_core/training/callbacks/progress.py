"""The bridge from Keras callback hooks to ``Progress`` events (imports Keras; training only)."""

from __future__ import annotations

import time
from typing import Callable

from fer_core.quiet import import_keras
from fer_core.training.progress import Progress, ProgressCallback

keras = import_keras()  # TensorFlow's native start-up banners kept off stderr


class KerasProgressBridge(keras.callbacks.Callback):
    """Turns Keras callback hooks into ``Progress`` events, with an ETA, and stops on request."""

    def __init__(self, listeners: list[ProgressCallback], epochs: int, batches: int,
                 history: dict[str, list[float]], should_stop: Callable[[], bool] | None = None):
        super().__init__()
        self.listeners = listeners
        self.epochs = epochs
        self.batches = batches
        self.history = history
        self.should_stop = should_stop or (lambda: False)
        self.stopped_by_request = False
        self._epoch = 0
        self._start = time.monotonic()
        self._epoch_start = self._start
        self._seconds_per_batch: float | None = None
        self._batches_run = 0

    def _send(self, progress: Progress) -> None:
        for listener in self.listeners:
            listener(progress)

    def _eta(self, batch: int) -> float | None:
        if self._seconds_per_batch is None:
            return None
        remaining = (self.epochs - self._epoch) * self.batches + (self.batches - batch)
        return remaining * self._seconds_per_batch

    def on_train_begin(self, logs=None):
        self._start = time.monotonic()
        self._send(Progress("train_begin", self._epoch, self.epochs, batches=self.batches,
                            history=self.history))

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1
        self._epoch_start = time.monotonic()
        self._send(Progress("epoch_begin", self._epoch, self.epochs, 0, self.batches,
                            history=self.history, elapsed_s=time.monotonic() - self._start,
                            eta_s=self._eta(0)))

    def on_train_batch_end(self, batch, logs=None):
        done = batch + 1
        self._batches_run += 1
        self._seconds_per_batch = (time.monotonic() - self._start) / self._batches_run
        metrics = {k: float(v) for k, v in (logs or {}).items()}
        self._send(Progress("batch_end", self._epoch, self.epochs, done, self.batches, metrics,
                            self.history, time.monotonic() - self._start, self._eta(done)))
        if self.should_stop():
            self.stopped_by_request = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        metrics = {k: float(v) for k, v in (logs or {}).items()}
        if self.stopped_by_request:
            return  # a partial epoch is not recorded as an epoch
        for key, value in metrics.items():
            self.history.setdefault(key, []).append(value)
        self.history.setdefault("epoch_seconds", []).append(time.monotonic() - self._epoch_start)
        self._send(Progress("epoch_end", self._epoch, self.epochs, self.batches, self.batches, metrics,
                            self.history, time.monotonic() - self._start, self._eta(self.batches)))
