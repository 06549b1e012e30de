"""Cropping: a detected face (or the whole photo) to the 48 x 48 grayscale input, framed as FER2013 frames faces."""

from __future__ import annotations

import math

import cv2
import numpy as np

from fer_core.geometry import IMAGE_SIZE
from fer_core.inference.detector import Detection, DetectorConfig


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 -> grayscale uint8 (ITU-R 601 luma, as OpenCV and FER2013's tools compute it)."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def crop_detection(gray: np.ndarray, face: Detection, config: DetectorConfig) -> np.ndarray:
    """The 48 x 48 uint8 face the model sees: a square around the box, framed like FER2013,
    rotated so the eyes are level when ``config.align`` and the detector gave landmarks."""
    scale, shift = config.framing
    angle = face.eye_angle if config.align else 0.0
    if angle == 0.0 and scale == 1.0 and shift == 0.0:
        return crop_face(gray, face.box, config.margin)
    x, y, w, h = face.box
    side = max(w, h) * scale * (1 + 2 * config.margin)
    radians = math.radians(angle)
    # the crop centre: the box centre moved "down" the face, which is tilted by ``angle``
    cx = x + w / 2 - math.sin(radians) * shift * side
    cy = y + h / 2 + math.cos(radians) * shift * side
    return aligned_square(gray, (cx, cy), side, angle)


def aligned_square(gray: np.ndarray, centre: tuple[float, float], side: float, angle: float) -> np.ndarray:
    """The square of ``side`` pixels centred on ``centre`` and turned by ``angle`` degrees, as 48 x 48
    (edge pixels repeated where it leaves the photo)."""
    work = 2 * IMAGE_SIZE  # sampled at twice the input size, then averaged down
    shrink = side / (2 * work)
    if shrink > 1:  # a large face: average the photo down first, so the rotation does not alias
        gray = cv2.resize(gray, (max(1, round(gray.shape[1] / shrink)), max(1, round(gray.shape[0] / shrink))),
                          interpolation=cv2.INTER_AREA)
        centre, side = (centre[0] / shrink, centre[1] / shrink), side / shrink
    matrix = cv2.getRotationMatrix2D(centre, angle, work / side)
    matrix[0, 2] += work / 2 - centre[0]
    matrix[1, 2] += work / 2 - centre[1]
    patch = cv2.warpAffine(gray, matrix, (work, work), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return resize_to_input(patch)


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


def resize_to_input(gray: np.ndarray) -> np.ndarray:
    """Any grayscale patch -> 48 x 48 uint8 (area averaging when shrinking)."""
    interpolation = cv2.INTER_AREA if min(gray.shape[:2]) >= IMAGE_SIZE else cv2.INTER_LINEAR
    return cv2.resize(gray, (IMAGE_SIZE, IMAGE_SIZE), interpolation=interpolation)


def whole_image_face(gray: np.ndarray) -> np.ndarray:
    """The whole photo, center-cropped to a square, as a 48 x 48 face."""
    height, width = gray.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return resize_to_input(gray[top:top + side, left:left + side])
