"""How ``bench/detection.py`` scores a detector's boxes against the faces it pasted."""

from __future__ import annotations

import numpy as np

from bench.detection import found_alone, measure
from fer_core.inference.detector import Detection


class BoxesDetector:
    """Stands in for a detector: the same boxes for every photo."""

    def __init__(self, boxes: list[tuple[float, float, float, float]]):
        self.boxes = boxes

    def find(self, photo: np.ndarray) -> list[Detection]:
        return [Detection(box) for box in self.boxes]

    def detect(self, photo: np.ndarray) -> list[tuple[float, float, float, float]]:
        return list(self.boxes)


def test_a_box_up_to_twice_a_missed_faces_square_is_a_false_alarm_counted_apart_as_a_close_up():
    faces = [{"centre": (200, 200), "side": 100, "degrees": 0.0, "face": 0},  # found: a box of its size
             {"centre": (600, 200), "side": 100, "degrees": 0.0, "face": 1},  # a box 1.8 times its square
             {"centre": (1000, 200), "side": 100, "degrees": 0.0, "face": 2}]  # a box 2.5 times: neither
    boxes = [(150, 150, 100, 100), (510, 110, 180, 180), (875, 75, 250, 250), (100, 500, 60, 60)]
    photo = np.zeros((720, 1280, 3), np.uint8)
    result = measure(BoxesDetector(boxes), [(photo, faces)], {})
    assert result["recall_60px_and_more"] == {"faces": 3, "recall": 1 / 3}
    assert result["false_alarms_per_composite"] == 3
    assert result["close_ups_framed_whole"] == 1
    assert result["recall_60px_and_more_with_close_ups"] == 2 / 3
    assert result["missed_faces_60px_and_more"] == [1, 2]  # the faces' indices, a close-up's included
    twice = measure(BoxesDetector(boxes), [(photo, faces), (photo, [dict(face, face=7) for face in faces])], {})
    assert twice["missed_faces_60px_and_more"] == [1, 2, 7, 7]  # every photo's misses


class SizeDetector:
    """Stands in for a detector that sees a face alone only in a photo of ``sides`` pixels."""

    def __init__(self, sides: tuple[int, ...]):
        self.sides, self.asked = sides, []

    def find(self, photo: np.ndarray) -> list[Detection]:
        self.asked.append(photo.shape[0])
        return [Detection((0, 0, 10, 10))] if photo.shape[0] in self.sides else []


def test_a_missed_face_is_looked_for_alone_at_192_px_first_then_at_other_sizes():
    face = np.full((48, 48), 128, np.uint8)
    first = SizeDetector(sides=(384,))  # the face upscaled 4x and padded by half on every side
    assert found_alone(first, face) == 4 and first.asked == [384]
    later = SizeDetector(sides=(576,))  # 6x
    assert found_alone(later, face) == 6 and later.asked == [384, 192, 288, 576]
    never = SizeDetector(sides=())
    assert found_alone(never, face) is None and len(never.asked) == 5
