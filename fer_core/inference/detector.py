"""Face detection: a photo in, every face's box, score and landmarks out, largest first.

Two detectors (nothing is downloaded):

- ``yunet`` (the default): YuNet, OpenCV's own CNN face detector (the model
  ``models/detector/face_detection_yunet_2023mar.onnx``, Apache-2.0, licence beside it), run by
  ONNX Runtime and decoded as ``cv2.FaceDetectorYN`` decodes it (``fer_core.inference.yunet``).
  It finds turned, small and partly covered faces that the cascade misses, and gives five
  landmarks per face, so each crop is rotated until the eyes are level.
- ``haar``: OpenCV's Haar cascade, the seed's choice, kept for comparison (``bench/detection.py``).

Both run on a copy of the photo scaled down to at most ``max_side`` pixels and map the boxes
back. ``crops`` turns each face into the network's 48 x 48 input.
"""

from __future__ import annotations

import math
import queue
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_core.inference.yunet import YuNet
from fer_core.paths import YUNET_MODEL

DETECTORS = ("yunet", "haar")


@dataclass(frozen=True)
class DetectorConfig:
    """Which detector finds the faces, with its settings, and how each face is cropped."""

    kind: str = "yunet"  # yunet | haar
    max_side: int = 0  # longest side of the copy the detector sees (0: 960 for YuNet, 640 for Haar)
    # YuNet
    yunet_model: str = str(YUNET_MODEL)
    score_threshold: float = 0.7  # a face's confidence to be kept (bench/detection.py: no face in the no-face photos)
    nms_threshold: float = 0.3  # overlap above which the weaker of two boxes is dropped
    turns: tuple[float, ...] = ()  # also look in copies turned by these degrees (faces tilted that way)
    # Haar cascade
    cascade: str = "haarcascade_frontalface_alt.xml"
    scale_factor: float = 1.2
    min_neighbors: int = 3
    equalize: bool = False  # histogram-equalise first: slower, and it missed most faces on textured backgrounds
    min_face_fraction: float = 0.06  # smallest face, as a fraction of the copy's shorter side
    # the crop
    align: bool = True  # rotate each face so its eyes are level (YuNet's landmarks; Haar has none)
    crop_scale: float = 0.0  # crop side / box side (0: the detector's FER2013 framing, bench/framing.py)
    crop_shift: float = 0.0  # the crop centre's downward shift, as a fraction of the crop side
    margin: float = 0.0  # extra border, as a fraction of the box, on top of the framing

    def __post_init__(self) -> None:
        if self.kind not in DETECTORS:
            raise ValueError(f"detector {self.kind!r} is unknown; choose one of {', '.join(DETECTORS)}")

    @property
    def detect_max_side(self) -> int:
        return self.max_side or (960 if self.kind == "yunet" else 640)

    @property
    def framing(self) -> tuple[float, float]:
        """(crop side / box side, downward shift / crop side) that frame a face like FER2013."""
        if self.crop_scale:
            return self.crop_scale, self.crop_shift
        return FER_FRAMING[self.kind]


# Crop side over box side, and the crop centre's shift below the box centre (a fraction of the
# side), that frame a face like FER2013, from bench/framing.py on PublicTest. With YuNet the frame
# is 1.03x its box (median; 10-90%: 0.80-1.30), its centre 0.013 lower; crops at 0.95x / 1.00x /
# 1.05x scored 70.92% / 70.75% / 70.75% (73.72% on the dataset's own crops): noise-sized, so 1.00x.
FER_FRAMING = {"haar": (1.0, 0.0), "yunet": (1.0, 0.0)}


@dataclass(frozen=True)
class Detection:
    """One face: its box (x, y, w, h) in the photo's pixels, the detector's score, and its five
    landmarks (the eye on the photo's left, the other eye, nose tip, mouth corners; YuNet only)."""

    box: tuple[int, int, int, int]
    score: float = 1.0
    landmarks: tuple[tuple[float, float], ...] = ()

    @property
    def eye_angle(self) -> float:
        """Degrees the line through the eyes is tilted from level (0 without landmarks)."""
        if len(self.landmarks) < 2:
            return 0.0
        (x1, y1), (x2, y2) = self.landmarks[0], self.landmarks[1]
        return math.degrees(math.atan2(y2 - y1, x2 - x1))


class FaceDetector:
    """Finds faces in a photo (grayscale or RGB); returns them largest first.

    Safe to share between threads. YuNet's one ONNX Runtime session runs calls from many threads
    at once; a cascade does not (it keeps scratch state, opencv/opencv#4287), so each call borrows
    a cascade of its own from a pool that grows to the number of threads detecting at the same time."""

    def __init__(self, config: DetectorConfig = DetectorConfig()):
        self.config = config
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        first = self._load()  # fails now, not at the first photo, when the model is missing
        self._yunet_model = first if config.kind == "yunet" else None
        if self._yunet_model is None:
            self._idle.put(first)

    def _load(self):
        if self.config.kind == "haar":
            path = Path(cv2.data.haarcascades) / self.config.cascade
            cascade = cv2.CascadeClassifier(str(path))
            if cascade.empty():
                raise RuntimeError(f"OpenCV's cascade {path} is missing; install opencv-python-headless 4.x")
            return cascade
        return YuNet(self.config.yunet_model, self.config.score_threshold, self.config.nms_threshold)

    def detect(self, image: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Boxes (x, y, w, h) of the faces, largest first."""
        return [face.box for face in self.find(image)]

    def find(self, image: np.ndarray) -> list[Detection]:
        """Every face in a grayscale (H x W) or RGB (H x W x 3) uint8 photo, largest first."""
        height, width = image.shape[:2]
        scale = min(1.0, self.config.detect_max_side / max(height, width))
        small = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA) if scale < 1.0 else image
        if self._yunet_model is not None:
            found = self._yunet(self._yunet_model, small)
        else:
            found = self._haar_pooled(small)
        faces = [Detection(tuple(int(round(v / scale)) for v in face.box), face.score,
                           tuple((x / scale, y / scale) for x, y in face.landmarks)) for face in found]
        return sorted(faces, key=lambda f: f.box[2] * f.box[3], reverse=True)

    def _haar_pooled(self, small: np.ndarray) -> list[Detection]:
        try:
            cascade = self._idle.get_nowait()
        except queue.Empty:  # every cascade is busy in another thread
            cascade = self._load()
        try:
            return self._haar(cascade, small)
        finally:
            self._idle.put(cascade)

    def _haar(self, cascade, small: np.ndarray) -> list[Detection]:
        gray = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        if self.config.equalize:
            gray = cv2.equalizeHist(gray)
        min_side = max(20, int(min(gray.shape[:2]) * self.config.min_face_fraction))
        if min(gray.shape[:2]) < min_side:
            return []
        found = cascade.detectMultiScale(gray, scaleFactor=self.config.scale_factor,
                                         minNeighbors=self.config.min_neighbors, minSize=(min_side, min_side))
        return [Detection(tuple(int(v) for v in box)) for box in (found if len(found) else [])]

    def _yunet(self, yunet, small: np.ndarray) -> list[Detection]:
        bgr = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR) if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
        faces = self._yunet_pass(yunet, bgr)
        for degrees in self.config.turns:
            faces += self._yunet_turned(yunet, bgr, degrees)
        if not self.config.turns:
            return faces
        keep = cv2.dnn.NMSBoxes([list(map(float, f.box)) for f in faces], [f.score for f in faces],
                                self.config.score_threshold, self.config.nms_threshold)
        return [faces[int(i)] for i in np.array(keep).reshape(-1)]

    def _yunet_turned(self, yunet, bgr: np.ndarray, degrees: float) -> list[Detection]:
        """Faces found in a copy turned by ``degrees``, mapped back into the photo."""
        height, width = bgr.shape[:2]
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
        cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
        size = (int(width * cos + height * sin), int(width * sin + height * cos))
        matrix[0, 2] += size[0] / 2 - width / 2
        matrix[1, 2] += size[1] / 2 - height / 2
        turned = cv2.warpAffine(bgr, matrix, size, borderMode=cv2.BORDER_CONSTANT)
        back = cv2.invertAffineTransform(matrix)
        faces = []
        for face in self._yunet_pass(yunet, turned, clip=False):
            x, y, w, h = face.box
            corners = np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]], np.float64)
            points = np.array(face.landmarks, np.float64)
            mapped = np.hstack([np.vstack([corners, points]), np.ones((9, 1))]) @ back.T
            centre = mapped[:4].mean(axis=0)
            left, top = max(0.0, centre[0] - w / 2), max(0.0, centre[1] - h / 2)
            right, bottom = min(float(width), centre[0] + w / 2), min(float(height), centre[1] + h / 2)
            if right - left >= 2 and bottom - top >= 2:
                faces.append(Detection((left, top, right - left, bottom - top), face.score,
                                       tuple((float(px), float(py)) for px, py in mapped[4:])))
        return faces

    def _yunet_pass(self, yunet, bgr: np.ndarray, clip: bool = True) -> list[Detection]:
        height, width = bgr.shape[:2]
        faces = []
        for row in yunet.detect(bgr):
            x, y, w, h = (float(v) for v in row[:4])
            left, top = (max(0.0, x), max(0.0, y)) if clip else (x, y)  # a face cut by the edge: the box stays inside
            right, bottom = (min(float(width), x + w), min(float(height), y + h)) if clip else (x + w, y + h)
            if right - left < 2 or bottom - top < 2:
                continue
            landmarks = tuple((float(row[4 + 2 * i]), float(row[5 + 2 * i])) for i in range(5))
            faces.append(Detection((left, top, right - left, bottom - top), float(row[14]), landmarks))
        return faces
