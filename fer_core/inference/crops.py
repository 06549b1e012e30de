"""Cropping: a detected face (or the whole photo) to the 48 x 48 grayscale input, framed as FER2013 frames faces."""

from __future__ import annotations

import math

import cv2
import numpy as np

from fer_core.inference.detector import Detection, DetectorConfig
from fer_core.inference.warp import aligned_square, resize_to_input


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 -> grayscale uint8 (ITU-R 601 luma, as OpenCV and FER2013's tools compute it)."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def crop_detection(gray: np.ndarray, face: Detection, config: DetectorConfig) -> np.ndarray:
    """The 48 x 48 uint8 face the model sees: a square around the box, framed like FER2013,
    turned upright when ``config.align`` (by the face's roll, else its eye line)."""
    scale, shift = config.framing
    angle = face.level_angle if config.align else 0.0
    if abs(angle) < config.min_turn:  # the estimate's own error is as large: leave the face as it is
        angle = 0.0
    if angle == 0.0 and scale == 1.0 and shift == 0.0:
        return crop_face(gray, face.box, config.margin)
    x, y, w, h = face.box
    side = max(w, h) * scale * (1 + 2 * config.margin)
    radians = math.radians(angle)
    # the crop centre: the box centre moved "down" the face, which is tilted by ``angle``
    cx = x + w / 2 - math.sin(radians) * shift * side
    cy = y + h / 2 + math.cos(radians) * shift * side
    return aligned_square(gray, (cx, cy), side, angle)


def crop_face(gray: np.ndarray, box: tuple[int, int, int, int], margin: float = 0.0) -> np.ndarray:
    """The 48 x 48 uint8 face for ``box`` (x, y, w, h), squared, with a margin, clipped to the photo."""
    x, y, w, h = box
    side = int(round(max(w, h) * (1 + 2 * margin)))
    cx, cy = x + w / 2, y + h / 2
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    height, width = gray.shape[:2]
    left, top = max(0, left), max(0, top)
    right, bottom = min(width, left + side), min(height, top + side)
    patch = gray[top:bottom, left:right]
    if patch.size == 0:
        patch = gray
    return resize_to_input(patch)


def whole_image_face(gray: np.ndarray) -> np.ndarray:
    """The whole photo, center-cropped to a square, as a 48 x 48 face."""
    height, width = gray.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return resize_to_input(gray[top:top + side, left:left + side])
