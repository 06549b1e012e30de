"""Validation scores beyond Keras's own: the raw weights' with EMA on, and the mean loss over the
real faces when the validation rows were padded for several devices."""

from __future__ import annotations

from fer_core.quiet import import_keras
from fer_core.training.devices import ValidationRows

keras = import_keras()  # TensorFlow's native start-up banners kept off stderr


class RawWeightsScore(keras.callbacks.Callback):
    """Adds ``val_accuracy_raw`` and ``val_loss_raw`` to each epoch's logs: the history shows what
    the weights' average bought, and the best model may be the raw weights."""

    def __init__(self, validation: ValidationRows, batch_size: int):
        super().__init__()
        self.validation = validation
        self.batch_size = batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and "val_accuracy" in logs:  # after validation swapped the raw weights back
            rows = self.validation
            scores = self.model.evaluate(rows.x, rows.y, batch_size=self.batch_size, verbose=0, return_dict=True)
            accuracy, loss = scores["accuracy"], scores["loss"]
            if rows.padding:
                accuracy, loss = rows.real_scores(accuracy, loss, rows.copies_scores(self.model))
            logs.update(val_accuracy_raw=accuracy, val_loss_raw=loss)


class PaddedValidationScores(keras.callbacks.Callback):
    """Validation's accuracy and loss over the real faces only, when the rows were padded for several
    devices (``ValidationRows``). First in the callback list, so that it scores the copies with the
    weights validation scored (the averaged ones with EMA), before they are swapped back."""

    def __init__(self, validation: ValidationRows):
        super().__init__()
        self.validation = validation
        self._copies: tuple[int, float] | None = None

    def on_test_end(self, logs=None):
        self._copies = self.validation.copies_scores(self.model)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and "val_accuracy" in logs and self._copies is not None:
            logs["val_accuracy"], logs["val_loss"] = self.validation.real_scores(
                logs["val_accuracy"], logs["val_loss"], self._copies)
        self._copies = None
