"""The one place that turns faces into probabilities: batches, flip averaging, temperature."""

from __future__ import annotations

from typing import Callable

import numpy as np

from fer_core.labels import EMOTIONS


def predict_probabilities(model, images: np.ndarray, *, tta: bool = False, batch_size: int = 256,
                          temperature: float = 1.0,
                          on_progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Softmax outputs (N x 7) for uint8 faces (N x 48 x 48); ``tta`` averages with the mirror.
    ``on_progress(done, total)`` is called after each batch of faces."""
    x = images.astype(np.float32)[..., None]
    passes = 2 if tta else 1
    report = (lambda done: on_progress(done, passes * len(x))) if on_progress else None
    probabilities = _batched(model, x, batch_size, report)
    if tta:
        shifted = (lambda done: report(len(x) + done)) if report else None
        probabilities = flip_average(probabilities, _batched(model, mirrored(x), batch_size, shifted))
    return apply_temperature(probabilities, temperature)


def plain_and_flip_tta(model, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The probabilities of uint8 faces (N x 48 x 48) as they are, and averaged with their mirrors."""
    plain = predict_probabilities(model, images)
    return plain, flip_average(plain, predict_probabilities(model, mirrored(images)))


def mirrored(faces: np.ndarray) -> np.ndarray:
    """The faces (N x H x W, with or without a channel axis) flipped left to right."""
    return faces[:, :, ::-1]


def flip_average(plain: np.ndarray, flipped: np.ndarray) -> np.ndarray:
    """Flip test-time augmentation: the mean of the probabilities of the faces and of their mirrors."""
    return (plain + flipped) / 2


def mirror_unsure(model, x: np.ndarray, skip_mirror_from: float) -> np.ndarray:
    """Model outputs (N x 7) for faces ``x`` (N x 48 x 48 x 1), each averaged with its mirror
    image's (flip TTA) unless the face alone gives one expression ``skip_mirror_from`` or more
    (1.0: every face is mirrored, 0.0: none). Two model calls at most: the faces, then the
    unsure ones' mirrors. A face that sure keeps its label: with 0.8, the shipped model's labels
    of PublicTest's faces and of the app's crops of them were the flip TTA ones, with 40-48% of
    the mirrors skipped (``docs/experiments.md``)."""
    out = np.asarray(model(x, training=False), dtype=np.float64)
    unsure = out.max(axis=1) < skip_mirror_from if skip_mirror_from < 1.0 else np.ones(len(out), bool)
    if unsure.any():
        flipped = np.asarray(model(mirrored(x[unsure]), training=False), dtype=np.float64)
        out[unsure] = flip_average(out[unsure], flipped)
    return out


def _batched(model, x: np.ndarray, batch_size: int, report: Callable[[int], None] | None = None) -> np.ndarray:
    chunks = []
    for start in range(0, len(x), batch_size):
        chunks.append(np.asarray(model(x[start:start + batch_size], training=False)))
        if report:
            report(min(start + batch_size, len(x)))
    return np.concatenate(chunks).astype(np.float64) if chunks else np.zeros((0, len(EMOTIONS)))


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Rescale probabilities as softmax(log p / T); T = 1 returns them unchanged."""
    if temperature == 1.0:
        return probabilities
    logits = np.log(np.clip(probabilities, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)
