"""How far each face is turned in the photo's plane: the angle that levels its crop.

The roll network (``nets.roll_net``, trained by ``recipes.roll``; ``models/detector/face_roll.onnx``)
looks at the disc inside a face's box and says how far the face is turned. One look is what the
app takes: a second one, at the disc turned back by the first answer, was no better on turned
PublicTest faces (``face_roll.json``; docs/experiments.md), so ``LOOKS`` is 1. The Live page's
``fer_live.mjs`` takes the same looks in the browser.
"""

from __future__ import annotations

import os

import numpy as np

from fer_core.inference.small_nets import SmallNet
from fer_core.inference.warp import aligned_square
from fer_core.nets.roll_net import ROLL_DISC, ROLL_UNIT
from fer_core.paths import ROLL_MODEL

MAX_ROLL = 45.0  # the network was trained on turns up to this; its answers are clipped to it
LOOKS = 1  # looks the estimate takes (each after turning the disc back by the answer so far)


class RollNet(SmallNet):
    """The roll network's ONNX file under ONNX Runtime: N x 48 x 48 x 1 discs -> N x 1 turns (in
    ``ROLL_UNIT`` degrees). Safe to call from several threads at once."""

    def __init__(self, path: str | os.PathLike = ROLL_MODEL):
        super().__init__(path, "face roll")


def roll_disc(gray: np.ndarray, box, angle: float) -> np.ndarray:
    """The 48 x 48 float32 disc the roll network sees: the box's square turned by ``angle``."""
    x, y, w, h = box
    return aligned_square(gray, (x + w / 2, y + h / 2), max(w, h), angle).astype(np.float32) * ROLL_DISC


def estimate_rolls(net: RollNet, gray: np.ndarray, boxes) -> list[float]:
    """For each box (x, y, w, h) in ``gray``, the angle (degrees) that turns its face upright: the
    angle ``crops`` turns the crop by, as the eye line's tilt would be (positive: clockwise in the photo)."""
    if not boxes:
        return []
    angles = np.zeros(len(boxes))
    for _ in range(LOOKS):
        discs = np.stack([roll_disc(gray, box, float(angle)) for box, angle in zip(boxes, angles)])[..., None]
        turns = net(discs).reshape(-1).astype(np.float64) * ROLL_UNIT  # how far each disc is still turned
        angles = np.clip(angles - turns, -MAX_ROLL, MAX_ROLL)
    return [float(angle) for angle in angles]
