"""Face detection and cropping: photo in, 48 x 48 grayscale faces out, as training saw them.

The detector is OpenCV's Haar cascade (the seed's choice; its files ship inside the
opencv-python-headless 4.x wheel, so nothing is downloaded). It runs on a copy of the
photo scaled down to ``detect_max_side`` pixels, and the boxes are mapped back. The settings
were chosen with ``bench/speed.py``'s photos (recall and milliseconds over cascades, sizes,
scale factors and neighbour counts), the astronaut (one face) and the cat (none).
"""

from __future__ import annotations

import queue
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .labels import IMAGE_SIZE


@dataclass(frozen=True)
class DetectorConfig:
    """Settings of the Haar face detector and of the crop around each face."""

    cascade: str = "haarcascade_frontalface_alt.xml"
    detect_max_side: int = 640  # longest side of the copy the detector sees
    scale_factor: float = 1.2
    min_neighbors: int = 3
    equalize: bool = False  # histogram-equalise first: slower, and it missed most faces on textured backgrounds
    min_face_fraction: float = 0.06  # smallest face, as a fraction of the copy's shorter side
    margin: float = 0.0  # extra border, as a fraction of the box (0 matches FER2013: bench/framing.py)


class FaceDetector:
    """Finds faces in an RGB photo; returns boxes (x, y, w, h) in the photo's pixels.

    Safe to share between threads. OpenCV's ``CascadeClassifier.detectMultiScale`` is not (it
    keeps scratch state in the object; opencv/opencv#4287): two threads calling one cascade at
    once got slightly different boxes. So each call borrows a cascade of its own from a pool that
    grows to the number of threads detecting at the same time."""

    def __init__(self, config: DetectorConfig = DetectorConfig()):
        self.config = config
        self._path = Path(cv2.data.haarcascades) / config.cascade
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._idle.put(self._load_cascade())  # fails now, not at the first photo, when it is missing

    def _load_cascade(self) -> "cv2.CascadeClassifier":
        cascade = cv2.CascadeClassifier(str(self._path))
        if cascade.empty():
            raise RuntimeError(f"OpenCV's cascade {self._path} is missing; install opencv-python-headless 4.x")
        return cascade

    def detect(self, gray: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Boxes of the faces in a grayscale photo, largest first."""
        height, width = gray.shape[:2]
        scale = min(1.0, self.config.detect_max_side / max(height, width))
        small = cv2.resize(gray, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA) if scale < 1.0 else gray
        if self.config.equalize:
            small = cv2.equalizeHist(small)
        min_side = max(20, int(min(small.shape[:2]) * self.config.min_face_fraction))
        if min(small.shape[:2]) < min_side:
            return []
        try:
            cascade = self._idle.get_nowait()
        except queue.Empty:  # every cascade is busy in another thread
            cascade = self._load_cascade()
        try:
            found = cascade.detectMultiScale(small, scaleFactor=self.config.scale_factor,
                                             minNeighbors=self.config.min_neighbors, minSize=(min_side, min_side))
        finally:
            self._idle.put(cascade)
        boxes = [tuple(int(round(v / scale)) for v in box) for box in (found if len(found) else [])]
        return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 -> grayscale uint8 (ITU-R 601 luma, as OpenCV and FER2013's tools compute it)."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


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
