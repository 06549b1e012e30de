"""The roll network: how far a face is turned, the upright crop it gives, and clear errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import turned
from skimage import data

from fer_core.inference.crops import crop_detection
from fer_core.inference.detector import DetectorConfig, FaceDetector
from fer_core.inference.roll import RollNet, estimate_rolls, roll_disc
from fer_core.nets.roll_net import ROLL_DISC


@pytest.fixture(scope="module")
def detector():
    return FaceDetector(DetectorConfig())


@pytest.mark.parametrize("degrees", [-30, -20, -10, 0, 10, 20, 30])
def test_the_roll_of_the_astronaut_turned_by_up_to_30_degrees_is_within_7_degrees(detector, degrees):
    face = detector.find(turned(data.astronaut(), degrees))[0]
    # the roll turns the face back: the astronaut's own head tilt is about -1 degree
    assert face.roll == pytest.approx(-degrees, abs=7)


def test_yunets_eye_line_alone_would_level_a_turned_face_by_a_fraction_of_its_turn(detector):
    face = detector.find(turned(data.astronaut(), 25))[0]
    assert abs(face.eye_angle) < 10 < abs(face.roll)  # why the crop follows the roll, not the eyes


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two crops, lightly blurred (a pixel's shift between them matters little)."""
    a, b = (cv2.GaussianBlur(c.astype(float), (0, 0), 1.5) for c in (a, b))
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def test_a_face_turned_by_25_degrees_gives_nearly_the_crop_of_the_upright_face(detector):
    """Cut through the detector, the roll and the crop, the turned face matches the upright one
    closely, and far better than the same crop left turned."""
    photo = data.astronaut()
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    upright = crop_detection(gray, detector.find(photo)[0], DetectorConfig())
    scores = {}
    for degrees in (-25, 25):
        turned_photo = turned(photo, degrees)
        face = detector.find(turned_photo)[0]
        turned_gray = cv2.cvtColor(turned_photo, cv2.COLOR_RGB2GRAY)
        aligned = crop_detection(turned_gray, face, DetectorConfig())
        left_turned = crop_detection(turned_gray, face, DetectorConfig(align=False))
        scores[degrees] = (similarity(aligned, upright), similarity(left_turned, upright))
    for aligned, left_turned in scores.values():
        assert aligned > 0.8 and aligned > left_turned + 0.3, scores


def test_the_disc_blanks_the_corners_and_keeps_the_middle():
    gray = np.full((100, 100), 200, np.uint8)
    disc = roll_disc(gray, (20, 20, 60, 60), 0.0)
    assert disc.shape == (48, 48) and disc.dtype == np.float32
    assert disc[0, 0] == 0 and disc[24, 24] == 200 and np.array_equal(disc > 0, ROLL_DISC > 0)


def test_no_box_gives_no_roll():
    assert estimate_rolls(RollNet(), np.zeros((10, 10), np.uint8), []) == []


def test_without_alignment_no_roll_model_is_needed(tmp_path):
    detector = FaceDetector(DetectorConfig(align=False, roll_model=str(tmp_path / "gone.onnx")))
    face = detector.find(data.astronaut())[0]
    assert face.roll is None
