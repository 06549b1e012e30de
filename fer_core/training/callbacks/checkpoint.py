"""``RunCheckpoint``: after each completed epoch, the epoch checkpoint, the best model and ``state.json``."""

from __future__ import annotations

import math
import time

from fer_core.artifacts.keras_files import save_model_atomically
from fer_core.quiet import import_keras
from fer_core.training.runs import RunFolder

keras = import_keras()  # TensorFlow's native start-up banners kept off stderr


class RunCheckpoint(keras.callbacks.Callback):
    """Checkpoints each epoch (the raw weights, to resume from) and keeps the best model.

    With ``averaging`` (a ``keras.callbacks.SwapEMAWeights``), validation scored both the averaged
    weights (``monitor``) and the raw ones (``monitor``_raw); the best model holds whichever scored
    higher: the average leads mid-schedule and can trail at the end of a cosine schedule
    (docs/experiments.md). ``state`` is the run's record, updated in place; ``bridge`` is the
    run's ``KerasProgressBridge`` (its history, and whether a stop was asked for).
    """

    def __init__(self, run: RunFolder, state: dict, bridge, monitor: str, averaging=None):
        super().__init__()
        self.run = run
        self.state = state
        self.bridge = bridge
        self.monitor = monitor
        self.averaging = averaging

    def on_epoch_end(self, epoch, logs=None):
        if self.bridge.stopped_by_request:
            return  # a partial epoch is not a checkpoint to resume from
        logs = logs or {}
        state, monitor = self.state, self.monitor
        scores = {"averaged" if self.averaging is not None else "raw": float(logs.get(monitor, float("nan")))}
        if self.averaging is not None and f"{monitor}_raw" in logs:
            scores["raw"] = float(logs[f"{monitor}_raw"])
        scored = [(value, weights) for weights, value in scores.items() if not math.isnan(value)]
        value, weights = max(scored, key=lambda pair: pair[0], default=(math.nan, ""))  # a tie keeps the average
        if not math.isnan(value) and value > state.get("best_value", -math.inf):
            self._save_best(averaged=weights == "averaged")
            state.update(best_value=value, best_epoch=epoch + 1, best_weights=weights)
        state["epochs_done"] = epoch + 1
        state["history"] = self.bridge.history
        state["seconds"] = state.get("seconds_before", 0.0) + (time.monotonic() - state["_started"])
        state["checkpoint"] = self.run.save_epoch(self.model, {k: v for k, v in state.items() if not k.startswith("_")})

    def _save_best(self, *, averaged: bool) -> None:
        if averaged:
            self.averaging.on_test_begin()  # swaps the averaged weights in, as for validation
        try:
            save_model_atomically(self.model, self.run.best_file)
        finally:
            if averaged:
                self.averaging.on_test_end()  # and the raw ones back
