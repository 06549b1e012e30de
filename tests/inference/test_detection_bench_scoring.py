"""How ``bench/detection.py`` scores a detector's boxes against the faces it pasted."""

from __future__ import annotations

import numpy as np

from bench.detection import measure
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
    result = measure(BoxesDetector(boxes), [(np.zeros((720, 1280, 3), np.uint8), faces)], {})
    assert result["recall_60px_and_more"] == {"faces": 3, "recall": 1 / 3}
    assert result["false_alarms_per_composite"] == 3
    assert result["close_ups_framed_whole"] == 1
    assert result["recall_60px_and_more_with_close_ups"] == 2 / 3
