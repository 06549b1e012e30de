"""The face check: how likely a candidate box holds a face (``nets.face_check_net``, trained by
``recipes.face_check``; ``models/detector/face_check.onnx``)."""

from __future__ import annotations

import os

import numpy as np

from fer_core.inference.small_nets import SmallNet
from fer_core.inference.warp import aligned_square
from fer_core.paths import FACE_CHECK_MODEL


class FaceCheck(SmallNet):
    """The face check's ONNX file under ONNX Runtime: N x 48 x 48 x 1 squares -> N x 1 probabilities."""

    def __init__(self, path: str | os.PathLike = FACE_CHECK_MODEL):
        super().__init__(path, "face check")

    def probabilities(self, gray: np.ndarray, boxes) -> np.ndarray:
        """For each box (x, y, w, h) in ``gray``, the probability that its square holds a face."""
        if not len(boxes):
            return np.zeros(0, np.float32)
        return self(np.stack([check_square(gray, box) for box in boxes])[..., None]).reshape(-1)


def check_square(gray: np.ndarray, box) -> np.ndarray:
    """The 48 x 48 uint8 square the face check sees: the box squared about its centre, as it stands."""
    x, y, w, h = box
    return aligned_square(gray, (x + w / 2, y + h / 2), max(w, h), 0.0)
