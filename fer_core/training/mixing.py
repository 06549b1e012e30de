"""MixUp and CutMix: training batches that blend pairs of faces, and their targets in proportion.

A network that memorises its training faces (a ``vgg_fer`` trained 187 epochs: 97.9% on Training, 70% on
PublicTest) learns less from each further epoch. Mixing takes that easy way out: each batch is
paired with a shuffled copy of itself, and

- MixUp (Zhang et al., 2018) blends the two faces pixel by pixel with a weight ``lam`` drawn from
  Beta(alpha, alpha), and the targets with the same weight;
- CutMix (Yun et al., 2019) pastes a rectangle of the partner face, covering a share ``1 - lam`` of
  the image, and the targets mix by the share each face keeps.

With both on, each batch uses one of them, chosen at random. The mixing runs on the host in NumPy,
one batch at a time (``MixedBatches``, a ``keras.utils.PyDataset``), so it works under every
Keras backend and costs about 0.3 ms a batch of 128; the augmentation layers of the model (flips,
affine, erasing) then act on the mixed faces as on any other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np


@dataclass(frozen=True)
class MixingConfig:
    """How training batches are mixed; an alpha of 0 turns that kind of mixing off."""

    mixup: float = 0.0  # MixUp: lam ~ Beta(mixup, mixup)
    cutmix: float = 0.0  # CutMix: lam ~ Beta(cutmix, cutmix)

    @property
    def enabled(self) -> bool:
        return self.mixup > 0 or self.cutmix > 0


def mixup(images: np.ndarray, targets: np.ndarray, partner: np.ndarray, lam: np.ndarray):
    """Blend each face with ``images[partner]`` by its weight ``lam`` (one per face), targets alike."""
    weight = lam.reshape(-1, *([1] * (images.ndim - 1))).astype(np.float32)
    mixed = weight * images + (1 - weight) * images[partner]
    share = lam.reshape(-1, 1).astype(np.float32)
    return mixed.astype(images.dtype), share * targets + (1 - share) * targets[partner]


def cutmix(images: np.ndarray, targets: np.ndarray, partner: np.ndarray, lam: np.ndarray, rng: np.random.Generator):
    """Paste into each face a rectangle of ``images[partner]`` covering about ``1 - lam`` of it.

    The rectangle has the image's aspect ratio and a uniformly drawn centre; where the image border
    clips it, the targets mix by the area actually pasted.
    """
    n, height, width = images.shape[:3]
    side = np.sqrt(1 - lam)
    cut_h, cut_w = np.round(height * side).astype(int), np.round(width * side).astype(int)
    centre_y, centre_x = rng.integers(0, height, n), rng.integers(0, width, n)
    top, bottom = np.clip(centre_y - cut_h // 2, 0, height), np.clip(centre_y + (cut_h + 1) // 2, 0, height)
    left, right = np.clip(centre_x - cut_w // 2, 0, width), np.clip(centre_x + (cut_w + 1) // 2, 0, width)
    rows, cols = np.arange(height)[None, :, None], np.arange(width)[None, None, :]
    inside = ((rows >= top[:, None, None]) & (rows < bottom[:, None, None])
              & (cols >= left[:, None, None]) & (cols < right[:, None, None]))
    mask = inside.reshape(n, height, width, *([1] * (images.ndim - 3)))
    mixed = np.where(mask, images[partner], images)
    kept = (1 - inside.mean(axis=(1, 2))).reshape(-1, 1).astype(np.float32)
    return mixed, kept * targets + (1 - kept) * targets[partner]


def mix_batch(images: np.ndarray, targets: np.ndarray, config: MixingConfig, rng: np.random.Generator):
    """One batch mixed as ``config`` says (MixUp or CutMix; with both on, one of them at random)."""
    kinds = [kind for kind, alpha in (("mixup", config.mixup), ("cutmix", config.cutmix)) if alpha > 0]
    if not kinds or len(images) < 2:
        return images, targets
    kind = kinds[rng.integers(len(kinds))]
    alpha = config.mixup if kind == "mixup" else config.cutmix
    partner = rng.permutation(len(images))
    lam = rng.beta(alpha, alpha, len(images))
    if kind == "mixup":
        return mixup(images, targets, partner, lam)
    return cutmix(images, targets, partner, lam, rng)


class MixedBatches(keras.utils.PyDataset):
    """The training faces in shuffled batches, each mixed by ``mix_batch``; reshuffled every epoch."""

    def __init__(self, images: np.ndarray, targets: np.ndarray, batch_size: int, config: MixingConfig, seed: int):
        super().__init__()
        self.images, self.targets = images, targets
        self.batch_size = batch_size
        self.config = config
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(images))

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index: int):
        picked = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        return mix_batch(self.images[picked], self.targets[picked], self.config, self.rng)

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.images))
