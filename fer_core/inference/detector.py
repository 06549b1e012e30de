"""Face detection: a photo in, every face's box, score and landmarks out, largest first.

Two detectors (nothing is downloaded):

- ``yunet`` (the default): YuNet, OpenCV's own CNN face detector (the model
  ``models/detector/face_detection_yunet_2023mar.onnx``, Apache-2.0, licence beside it), run by
  ONNX Runtime and decoded as ``cv2.FaceDetectorYN`` decodes it (``fer_core.inference.yunet``).
  It finds turned, small and partly covered faces that the cascade misses, and gives five
  landmarks per face. A face it is unsure of (a score between ``candidate_threshold`` and
  ``score_threshold``) gets a second look: turned upright and scaled to ``verify_side`` pixels
  (a large face that look leaves unsure, to ``large_look_side`` too), it is kept when YuNet then
  scores it ``verify_threshold`` or more, in colour or, where colour misleads it (a coloured
  light), in gray (``gray_look``). A weaker face still (from ``check_from``) is kept when
  the face check (``fer_core.inference.face_check``) is sure of it and its second look scores it
  at least ``check_look``, or when the check finds it likely (``check_likely``) and its second look
  is as sure as an unsure face's must be.
- ``haar``: OpenCV's Haar cascade, the seed's choice, kept for comparison (``bench/detection.py``).

Both run on a copy of the photo scaled down to at most ``max_side`` pixels and map the boxes
back. The roll network (``fer_core.inference.roll``) says how far each face is turned, so that
``crops`` can cut it upright as the network's 48 x 48 input.
"""

from __future__ import annotations

import math
import queue
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from fer_core.inference.face_check import FaceCheck
from fer_core.inference.roll import RollNet, estimate_rolls
from fer_core.inference.yunet import YuNet
from fer_core.paths import FACE_CHECK_MODEL, ROLL_MODEL, YUNET_MODEL

DETECTORS = ("yunet", "haar")


@dataclass(frozen=True)
class DetectorConfig:
    """Which detector finds the faces, with its settings, and how each face is cropped."""

    kind: str = "yunet"  # yunet | haar
    max_side: int = 0  # longest side of the copy the detector sees (0: 960 for YuNet, 640 for Haar)
    # YuNet
    yunet_model: str = str(YUNET_MODEL)
    score_threshold: float = 0.7  # a face's confidence to be kept (bench/detection.py: no face in the no-face photos)
    candidate_threshold: float = 0.1  # a weaker face gets a second look, upright and enlarged (0: none; bench/detection.py)
    verify_side: int = 128  # the face's side in pixels in that second look
    verify_min_side: int = 16  # a smaller box (in the detector's copy) gets no second look nor check: enlarged 8
    #                            times or more, gravel looks like a face (bench/detection.py --seed 1: 8 such boxes)
    large_look_side: int = 256  # a face larger than verify_side that look leaves unconfirmed is looked at again
    #                             this large, the better look counting (0: not; bench/framing.py: blurred large
    #                             faces, shrunk to verify_side, score lower than they would enlarged)
    verify_threshold: float = 0.8  # the score a second look must reach (0.7 let a heavy-JPEG sleeve through)
    check_from: float = 0.02  # a weaker face still is kept when the face check is sure of it (0: no check)
    check_accept: float = 0.98  # the face check's probability that keeps it (bench/detection.py: 0.95 doubled
    #                             the false alarms, 0.99 found fewer with as many)
    check_look: float = 0.3  # ... and when its second look scores it this much (0: no look)
    check_likely: float = 0.5  # a weak face the check finds this likely is kept when its second look reaches
    #                            verify_threshold, as an unsure face's must (0: not)
    check_limit: int = 8  # second looks the face check may ask for in one photo, the likeliest faces first
    #                       (bench/detection.py, seeds 0-9: 8, 12 and 16 find the same faces; 64 no more)
    face_check_model: str = str(FACE_CHECK_MODEL)
    nms_threshold: float = 0.3  # overlap above which the weaker of two boxes is dropped
    turns: tuple[float, ...] = ()  # also look in copies turned by these degrees (faces tilted that way)
    gray_look: bool = True  # an unsure second look also sees its view in gray, and a face sure there counts
    #                         (bench/detection.py, seeds 0-9: 1,749 faces against 1,741; 19 false alarms against
    #                         18, the new one a close-up's whole face; the same on photos without a face)
    gray_look_from: float = 0.5  # a second look scoring its face less is not seen in gray (bench/detection.py,
    #                              seeds 0-9: one face fewer than from 0.05, for a sixth of the gray looks on real photos)
    # Haar cascade
    cascade: str = "haarcascade_frontalface_alt.xml"
    scale_factor: float = 1.2
    min_neighbors: int = 3
    equalize: bool = False  # histogram-equalise first: slower, and it missed most faces on textured backgrounds
    min_face_fraction: float = 0.06  # smallest face, as a fraction of the copy's shorter side
    # the crop
    align: bool = True  # turn each face upright (the roll network's estimate) before cropping it
    min_turn: float = 5.0  # a face estimated turned by less is cropped as it is (bench/framing.py: the estimate's
    #                        median error on upright faces is 4 degrees; turning them by it cost 1.1 points)
    roll_model: str = str(ROLL_MODEL)
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
# is 1.04x its box (median; 10-90%: 0.80-1.31), its centre 0.013 lower; crops at 0.95x / 1.00x /
# 1.05x scored 69.67% / 70.17% / 70.02% (73.36% on the dataset's own crops): noise-sized, so 1.00x.
FER_FRAMING = {"haar": (1.0, 0.0), "yunet": (1.0, 0.0)}


BILINEAR_DOWN_TO = 0.5  # the smallest scale at which the detector's copy is interpolated, not area-averaged


def detector_view(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """The copy of ``image`` a detector looks at (at most ``max_side`` pixels) and its scale
    against the photo. Shrunk by half or less, bilinear interpolation already draws on every
    photo pixel (at exactly half it gives the same copy as area averaging) and runs faster: 1.3
    ms against 2.4 ms for a 1280x720 photo, in OpenCV's bit-exact form, which the Live page's
    ``fer_live.mjs`` reproduces. Shrunk further, area averaging keeps fine texture from aliasing."""
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale == 1.0:
        return image, scale
    return cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                      interpolation=cv2.INTER_LINEAR_EXACT if scale >= BILINEAR_DOWN_TO else cv2.INTER_AREA), scale


LIKELY_FACE = 0.5  # a candidate the face check thinks more likely a face than not
PART_OF_A_FACE = 0.3  # a box sharing more of its area with a face is that face again
LIKELY_OVERLAP = 0.05  # ... and a likely (not sure) weak box sharing more than this with a face found
CHECKED_AT_MOST = 512  # weak faces the face check reads in one photo, the best scored first (gravel raises ~2,000)


def _best_in_the_middle(rows, view: int, side: int):
    """The best-scored of YuNet's ``rows`` in a ``view``-pixel look whose face should be ``side``
    pixels in its middle: its centre within half of ``side`` of the middle, its side 0.5-2 times
    ``side``; or None."""
    best = None
    for row in rows:
        offset = max(abs(row[0] + row[2] / 2 - view / 2), abs(row[1] + row[3] / 2 - view / 2))
        if offset < side / 2 and 0.5 <= max(row[2], row[3]) / side <= 2 and (best is None or row[14] > best[14]):
            best = row
    return best


def covered(box: tuple[float, float, float, float], faces: list["Detection"], overlap: float = PART_OF_A_FACE) -> bool:
    """Whether ``box`` (x, y, w, h) shares more than ``overlap`` of the smaller box's area with one
    of the ``faces``: a box on part of a face, or around it, is that face again."""
    x, y, w, h = box
    for face in faces:
        fx, fy, fw, fh = face.box
        shared = max(0.0, min(x + w, fx + fw) - max(x, fx)) * max(0.0, min(y + h, fy + fh) - max(y, fy))
        if shared > overlap * min(w * h, fw * fh):
            return True
    return False


@dataclass(frozen=True)
class Detection:
    """One face: its box (x, y, w, h) in the photo's pixels, the detector's score, its five
    landmarks (the eye on the photo's left, the other eye, nose tip, mouth corners; YuNet only),
    and its roll: the degrees that turn it upright (the roll network's; None: not estimated)."""

    box: tuple[int, int, int, int]
    score: float = 1.0
    landmarks: tuple[tuple[float, float], ...] = ()
    roll: float | None = None

    @property
    def side(self) -> float:
        """The box's longer side, in pixels."""
        return max(self.box[2], self.box[3])

    @property
    def eye_angle(self) -> float:
        """Degrees the line through the eyes is tilted from level (0 without landmarks)."""
        if len(self.landmarks) < 2:
            return 0.0
        (x1, y1), (x2, y2) = self.landmarks[0], self.landmarks[1]
        return math.degrees(math.atan2(y2 - y1, x2 - x1))

    @property
    def level_angle(self) -> float:
        """Degrees the crop is turned by to stand the face upright: its roll, else its eye line's tilt."""
        return self.eye_angle if self.roll is None else self.roll


class FaceDetector:
    """Finds faces in a photo (grayscale or RGB); returns them largest first.

    Safe to share between threads. YuNet's one ONNX Runtime session runs calls from many threads
    at once; a cascade does not (it keeps scratch state, opencv/opencv#4287), so each call borrows
    a cascade of its own from a pool that grows to the number of threads detecting at the same time."""

    def __init__(self, config: DetectorConfig = DetectorConfig()):
        self.config = config
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        first = self._load()  # fails now, not at the first photo, when a model is missing
        self._yunet_model = first if config.kind == "yunet" else None
        if self._yunet_model is None:
            self._idle.put(first)
        self._roll_net = RollNet(config.roll_model) if config.align else None
        self._face_check = FaceCheck(config.face_check_model) if config.kind == "yunet" and config.check_from else None

    def _load(self):
        if self.config.kind == "haar":
            path = Path(cv2.data.haarcascades) / self.config.cascade
            cascade = cv2.CascadeClassifier(str(path))
            if cascade.empty():
                raise RuntimeError(f"OpenCV's cascade {path} is missing; install opencv-python-headless 4.x")
            return cascade
        config = self.config
        lowest = min(config.candidate_threshold or config.score_threshold, config.check_from or config.score_threshold,
                     config.score_threshold)
        return YuNet(config.yunet_model, lowest, config.nms_threshold)

    def detect(self, image: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Boxes (x, y, w, h) of the faces, largest first."""
        return [face.box for face in self.find(image)]

    def find(self, image: np.ndarray) -> list[Detection]:
        """Every face in a grayscale (H x W) or RGB (H x W x 3) uint8 photo, largest first."""
        small, scale = detector_view(image, self.config.detect_max_side)
        gray = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        if self._yunet_model is not None:
            found = self._yunet(self._yunet_model, small, gray)
        else:
            found = self._haar_pooled(gray)
        if self._roll_net is not None:
            rolls = estimate_rolls(self._roll_net, gray, [face.box for face in found])
            found = [replace(face, roll=roll) for face, roll in zip(found, rolls)]
        faces = [Detection(tuple(int(round(v / scale)) for v in face.box), face.score,
                           tuple((x / scale, y / scale) for x, y in face.landmarks), face.roll) for face in found]
        return sorted(faces, key=lambda f: f.box[2] * f.box[3], reverse=True)

    def _haar_pooled(self, gray: np.ndarray) -> list[Detection]:
        try:
            cascade = self._idle.get_nowait()
        except queue.Empty:  # every cascade is busy in another thread
            cascade = self._load()
        try:
            return self._haar(cascade, gray)
        finally:
            self._idle.put(cascade)

    def _haar(self, cascade, gray: np.ndarray) -> list[Detection]:
        if self.config.equalize:
            gray = cv2.equalizeHist(gray)
        min_side = max(20, int(min(gray.shape[:2]) * self.config.min_face_fraction))
        if min(gray.shape[:2]) < min_side:
            return []
        found = cascade.detectMultiScale(gray, scaleFactor=self.config.scale_factor,
                                         minNeighbors=self.config.min_neighbors, minSize=(min_side, min_side))
        return [Detection(tuple(int(v) for v in box)) for box in (found if len(found) else [])]

    def _yunet(self, yunet, small: np.ndarray, gray: np.ndarray) -> list[Detection]:
        """YuNet's faces: the sure ones, the unsure ones a second look confirms, the weak ones the
        face check is sure of, and those found in the turned copies, with the duplicates suppressed."""
        bgr = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR) if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
        config = self.config
        raised = self._yunet_pass(yunet, bgr)
        faces = [face for face in raised if face.score >= config.score_threshold]
        unsure = [face for face in raised if config.candidate_threshold and
                  config.candidate_threshold <= face.score < config.score_threshold and
                  face.side >= config.verify_min_side]
        looks: dict[int, Detection | None] = {}  # each unsure face's second look, by the face's id
        if unsure:
            rolls = estimate_rolls(self._roll_net, gray, [face.box for face in unsure]) if self._roll_net else \
                [face.eye_angle for face in unsure]
            looks = {id(face): self._second_look(yunet, bgr, face, roll) for face, roll in zip(unsure, rolls)}
            faces += [face for face in looks.values() if face is not None and face.score >= config.verify_threshold]
        checked = self._checked(yunet, bgr, gray, [face for face in raised if face.score < config.score_threshold],
                                faces, looks) if self._face_check is not None else []
        faces += checked
        for degrees in config.turns:
            faces += [face for face in self._yunet_turned(yunet, bgr, degrees) if face.score >= config.score_threshold]
        if not (unsure or checked or config.turns) or len(faces) < 2:  # YuNet's own suppression stands
            return faces
        keep = cv2.dnn.NMSBoxes([list(map(float, f.box)) for f in faces], [f.score for f in faces], 0.0,
                                config.nms_threshold)
        return [faces[int(i)] for i in np.array(keep).reshape(-1)]

    def _checked(self, yunet, bgr: np.ndarray, gray: np.ndarray, weak: list[Detection], kept: list[Detection],
                 looks: dict[int, Detection | None]) -> list[Detection]:
        """The weak faces (the likeliest first) the face check is sure of and a second look confirms, each
        clear of the faces kept before it and of any larger, better-scored candidate the check
        finds likely (a part of a face is no face of its own). The check reads up to
        ``CHECKED_AT_MOST`` weak faces (a textured photo raises hundreds), none smaller than
        ``verify_min_side``; the second looks it asks for stop at ``check_limit``.
        ``looks`` holds the second looks already taken (by ``id`` of the face in ``weak``)."""
        config = self.config
        kept = list(kept)
        weak = [face for face in weak if face.score >= config.check_from and not covered(face.box, kept) and
                face.side >= config.verify_min_side]
        weak = weak[:CHECKED_AT_MOST]
        accepted, looked = [], 0
        probabilities = self._face_check.probabilities(gray, [face.box for face in weak])
        likely = [(face, p) for face, p in zip(weak, probabilities) if p >= LIKELY_FACE]
        for index in np.argsort(-probabilities, kind="stable"):  # the likeliest faces first: they get the looks
            face, probability = weak[index], probabilities[index]
            sure = probability >= config.check_accept
            if not (sure or config.check_likely and probability >= config.check_likely):
                break
            area = face.box[2] * face.box[3]
            larger = [other for other, p in likely if other.score > face.score and other.box[2] * other.box[3] > area]
            if covered(face.box, kept, PART_OF_A_FACE if sure else LIKELY_OVERLAP) or covered(face.box, larger):
                continue  # a box on part of a face found, or of a larger likely one, is that face again
            needed = config.check_look if sure else config.verify_threshold
            if needed:
                if id(face) in looks:
                    look = looks[id(face)]
                elif looked < config.check_limit:
                    looked += 1
                    look = self._second_look(yunet, bgr, face, estimate_rolls(self._roll_net, gray, [face.box])[0]
                                             if self._roll_net else face.eye_angle)
                else:
                    continue
                if look is None or look.score < needed or covered(look.box, kept):  # it saw a face found before
                    continue
            kept.append(face)
            accepted.append(face)
        return accepted

    def _second_look(self, yunet, bgr: np.ndarray, face: Detection, roll: float) -> Detection | None:
        """``face`` looked at again, turned upright by ``roll`` and scaled to ``verify_side`` pixels
        (and, when that shrank it and left it unconfirmed, to ``large_look_side``): YuNet's face
        best scored in the middle of the view, mapped back, or None."""
        config = self.config
        look = self._look(yunet, bgr, face, roll, config.verify_side)
        if config.large_look_side and face.side > config.verify_side and \
                (look is None or look.score < config.verify_threshold):
            larger = self._look(yunet, bgr, face, roll, config.large_look_side)
            if larger is not None and (look is None or larger.score > look.score):
                return larger
        return look

    def _look(self, yunet, bgr: np.ndarray, face: Detection, roll: float, side: int) -> Detection | None:
        """``face`` turned upright by ``roll`` and scaled to ``side`` pixels in a view twice as large:
        YuNet's best-scored face in the middle of that view (its centre within half of ``side``,
        its side 0.5-2 times ``side``), mapped back, or None. The best scored, not the nearest: a
        face's mouth or eye can raise a weak box nearer the middle than the face's own. With
        ``gray_look``, a view whose face is unsure (from ``gray_look_from`` to ``verify_threshold``)
        is also seen in gray, and a face the gray view is sure of (``verify_threshold``) counts:
        colours that mislead YuNet (a coloured light, a gray face on a coloured ground) are gone
        there. Only a sure one: in gray, the shuttle behind the astronaut scores 0.45, past the 0.3
        that a weak box the face check is sure of needs."""
        x, y, w, h = face.box
        centre = (x + w / 2, y + h / 2)
        view = 2 * side  # 256 or 512: a multiple of 32, so YuNet's input needs no padding
        matrix = cv2.getRotationMatrix2D(centre, roll, side / max(w, h))
        matrix[0, 2] += view / 2 - centre[0]
        matrix[1, 2] += view / 2 - centre[1]
        upright = cv2.warpAffine(bgr, matrix, (view, view), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        best = _best_in_the_middle(yunet.detect(upright), view, side)
        unsure = best is not None and self.config.gray_look_from <= best[14] < self.config.verify_threshold
        if self.config.gray_look and unsure:
            gray = cv2.cvtColor(upright, cv2.COLOR_BGR2GRAY)
            if not all(np.array_equal(upright[..., channel], gray) for channel in range(3)):  # a gray view: seen
                in_gray = _best_in_the_middle(yunet.detect(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)), view, side)
                if in_gray is not None and in_gray[14] >= self.config.verify_threshold:
                    best = in_gray
        if best is None:
            return None
        return self._mapped_back(best, cv2.invertAffineTransform(matrix), side / max(w, h), bgr.shape[:2])

    def _mapped_back(self, row: np.ndarray, back: np.ndarray, zoom: float, size: tuple[int, int]) -> Detection | None:
        """One YuNet row found in a turned (and ``zoom``-times enlarged) view, in the photo's pixels:
        its box keeps its size around its mapped centre, clipped to the photo."""
        height, width = size
        x, y, w, h = (float(v) for v in row[:4])
        points = np.array([[x + w / 2, y + h / 2], *(row[4:14].reshape(5, 2))], np.float64)
        mapped = np.hstack([points, np.ones((6, 1))]) @ back.T
        w, h = w / zoom, h / zoom
        left, top = max(0.0, mapped[0, 0] - w / 2), max(0.0, mapped[0, 1] - h / 2)
        right, bottom = min(float(width), mapped[0, 0] + w / 2), min(float(height), mapped[0, 1] + h / 2)
        if right - left < 2 or bottom - top < 2:
            return None
        return Detection((left, top, right - left, bottom - top), float(row[14]),
                         tuple((float(px), float(py)) for px, py in mapped[1:]))

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
        found = (self._mapped_back(row, back, 1.0, (height, width)) for row in yunet.detect(turned))
        return [face for face in found if face is not None]

    def _yunet_pass(self, yunet, bgr: np.ndarray) -> list[Detection]:
        height, width = bgr.shape[:2]
        faces = []
        for row in yunet.detect(bgr):
            x, y, w, h = (float(v) for v in row[:4])
            left, top = max(0.0, x), max(0.0, y)  # a face cut by the edge: the box stays inside
            right, bottom = min(float(width), x + w), min(float(height), y + h)
            if right - left < 2 or bottom - top < 2:
                continue
            landmarks = tuple((float(row[4 + 2 * i]), float(row[5 + 2 * i])) for i in range(5))
            faces.append(Detection((left, top, right - left, bottom - top), float(row[14]), landmarks))
        return faces
