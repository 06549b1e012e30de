"""Training on several accelerators at once: data parallel, the batch split across the devices.

Keras's ``DataParallel`` distribution keeps one copy of the weights on every device and gives each
device its share of every batch; the gradients are summed across devices at each step, so the run
learns as on one device with the same batch (``tests/training/test_devices.py`` compares the loss
curves). Keras distributes with JAX only, so a run on several devices needs ``KERAS_BACKEND=jax``.

Every batch must split evenly: the batch size is a multiple of the device count, the training rows
leave a last batch that splits too (at most ``count - 1`` rows are left out), and the validation
rows are padded with copies, which are then taken back out of the scores.

The devices are those of one host. Training across hosts (``keras.distribution.initialize``, which
starts ``jax.distributed``) would need each process to feed its own share of every batch and one
process alone to write the checkpoints; docs/training-on-a-gpu.md says how far that is.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from fer_core.errors import TrainingError

ALL = "all"


@dataclass(frozen=True)
class DeviceConfig:
    """Which devices a run trains on: a count, or ``"all"`` of those Keras sees."""

    devices: int | str = 1

    def __post_init__(self) -> None:
        if self.devices != ALL and not (isinstance(self.devices, int) and self.devices >= 1):
            raise TrainingError(f"devices must be a whole number of at least 1 or {ALL!r}, got {self.devices!r}")

    @classmethod
    def parse(cls, text: str) -> "DeviceConfig":
        """``--devices``'s value: ``all`` or a whole number."""
        text = text.strip().lower()
        if text == ALL:
            return cls(ALL)
        if not text.isdigit():
            raise TrainingError(f"--devices expects a whole number or {ALL!r}, got {text!r}")
        return cls(int(text))


@dataclass(frozen=True)
class DevicePlan:
    """The devices a run trains on."""

    names: tuple[str, ...]  # Keras's device names, e.g. ('gpu:0', 'gpu:1')

    @property
    def count(self) -> int:
        return len(self.names)

    @property
    def parallel(self) -> bool:
        return self.count > 1

    def scope(self):
        """The context in which the model is built and trained: Keras's ``DataParallel`` on
        several devices, nothing on one."""
        if not self.parallel:
            return nullcontext()
        import keras

        return keras.distribution.DataParallel(devices=list(self.names)).scope()

    def describe(self) -> str:
        """For the model card: '2 devices (gpu:0, gpu:1)', or '1 device'."""
        if not self.parallel:
            return "1 device"
        return f"{self.count} devices ({', '.join(self.names)}), data parallel"


SINGLE_DEVICE = DevicePlan(names=("default",))


def plan_devices(config: DeviceConfig, batch_size: int) -> DevicePlan:
    """The devices to train on, checked: enough of them, the JAX backend, a batch that splits."""
    if config.devices == 1:
        return SINGLE_DEVICE
    import keras

    backend = keras.backend.backend()
    if backend != "jax":
        raise TrainingError(f"training on several devices needs the JAX backend (Keras distributes with JAX "
                            f"only); this process runs {backend}: set KERAS_BACKEND=jax")
    import jax

    if jax.process_count() > 1:
        raise TrainingError("training across several hosts is not supported; train on the devices of one host")
    available = keras.distribution.list_devices()
    wanted = len(available) if config.devices == ALL else int(config.devices)
    if wanted > len(available):
        raise TrainingError(f"asked for {wanted} devices, but Keras sees {len(available)} "
                            f"({', '.join(available)})")
    plan = DevicePlan(tuple(available[:wanted]))
    if batch_size % plan.count:
        raise TrainingError(f"a batch of {batch_size} does not split evenly over {plan.count} devices; "
                            f"choose a batch size that is a multiple of {plan.count}")
    return plan


def rows_that_split(rows: int, batch_size: int, devices: int) -> int:
    """How many of ``rows`` to train on so that every batch, the last one too, splits over ``devices``."""
    return rows - (rows % batch_size) % devices


@dataclass(frozen=True)
class ValidationRows:
    """The validation faces as ``fit`` scores them. On several devices the rows are padded with
    copies of the first ones so that every batch splits; ``real_scores`` takes the copies back out
    of the scores Keras reports."""

    x: np.ndarray
    y: np.ndarray
    real: int  # the rows before the padding
    devices: int = 1

    @classmethod
    def padded(cls, x: np.ndarray, y: np.ndarray, devices: int) -> "ValidationRows":
        padding = -len(x) % devices
        return cls(np.concatenate([x, x[:padding]]), np.concatenate([y, y[:padding]]), len(x), devices)

    @property
    def padding(self) -> int:
        return len(self.x) - self.real

    def copies_scores(self, model) -> tuple[int, float]:
        """How many copies the model is right on, and their summed loss."""
        copies = slice(self.real, None)
        picked = np.resize(np.arange(len(self.x))[copies], self.devices)  # a batch that splits
        answers = np.asarray(model.predict(self.x[picked], batch_size=self.devices, verbose=0),
                             np.float32)[:self.padding]
        right = int(np.sum(answers.argmax(axis=1) == self.y[copies].argmax(axis=1)))
        return right, float(model.loss(self.y[copies], answers)) * self.padding

    def real_scores(self, accuracy: float, loss: float, copies: tuple[int, float]) -> tuple[float, float]:
        """Accuracy and mean loss over the real rows, from those Keras reports over all rows (means
        over rows: each batch's loss is weighed by its size) and ``copies_scores``."""
        right, copies_loss = copies
        total = len(self.x)
        return (accuracy * total - right) / self.real, (loss * total - copies_loss) / self.real
