"""``RawWeightsScore``: with EMA on, also score the raw (last-step) weights after each epoch."""

from __future__ import annotations

import numpy as np

from fer_core.quiet import import_keras

keras = import_keras()  # TensorFlow's native start-up banners kept off stderr


class RawWeightsScore(keras.callbacks.Callback):
    """Adds ``val_accuracy_raw`` and ``val_loss_raw`` to each epoch's logs: the history shows what
    the weights' average bought, and the best model may be the raw weights."""

    def __init__(self, x_val: np.ndarray, y_val: np.ndarray):
        super().__init__()
        self.x_val = x_val
        self.y_val = y_val

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and "val_accuracy" in logs:  # after validation swapped the raw weights back
            scores = self.model.evaluate(self.x_val, self.y_val, batch_size=512, verbose=0, return_dict=True)
            logs.update(val_accuracy_raw=scores["accuracy"], val_loss_raw=scores["loss"])
