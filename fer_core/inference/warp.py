"""Turned, scaled squares cut from a grayscale photo: the one warp that crops faces for the
network and for the roll estimate (the Live page's ``alignedSquare`` repeats it in the browser)."""

from __future__ import annotations

import cv2
import numpy as np

from fer_core.geometry import IMAGE_SIZE


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


def resize_to_input(gray: np.ndarray) -> np.ndarray:
    """Any grayscale patch -> 48 x 48 uint8 (area averaging when shrinking)."""
    interpolation = cv2.INTER_AREA if min(gray.shape[:2]) >= IMAGE_SIZE else cv2.INTER_LINEAR
    return cv2.resize(gray, (IMAGE_SIZE, IMAGE_SIZE), interpolation=interpolation)
