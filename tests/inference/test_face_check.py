"""The face check: weak candidates it keeps and those it does not, and its model file."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from fer_core.inference.detector import LIKELY_FACE, Detection, DetectorConfig, FaceDetector, covered
from fer_core.inference.face_check import FaceCheck, check_square


@pytest.fixture(scope="module")
def face_check():
    return FaceCheck()


def test_a_box_on_part_of_a_face_or_around_it_is_covered_by_it_and_one_beside_it_is_not():
    face = [Detection((100, 100, 100, 100))]
    assert covered((120, 120, 30, 30), face)  # an eye
    assert covered((50, 50, 200, 200), face)  # around the face
    assert not covered((210, 100, 100, 100), face)  # the next face
    assert not covered((180, 100, 100, 100), face)  # overlapping by a fifth


def test_the_check_square_is_the_box_squared_about_its_centre():
    gray = np.zeros((200, 300), np.uint8)
    gray[50:150, 100:200] = 255  # a white square
    square = check_square(gray, (100, 75, 100, 50))  # a wide box: squared to 100 x 100 about its centre
    assert square.shape == (48, 48) and square.dtype == np.uint8
    assert square[24, 24] == 255 and square[2:-2, 2:-2].min() == 255


def test_the_shipped_check_finds_the_astronauts_face_likely_and_keeps_no_texture(face_check):
    gray = np.dot(data.astronaut()[..., :3], [0.299, 0.587, 0.114]).astype(np.uint8)
    face = FaceDetector(DetectorConfig(check_from=0)).find(data.astronaut())[0]
    assert face_check.probabilities(gray, [face.box])[0] >= LIKELY_FACE
    for name in ("brick", "grass", "gravel", "coins"):
        texture = getattr(data, name)()
        boxes = [(x, y, 96, 96) for x in (0, 150, 300) for y in (0, 150, 300)]
        assert face_check.probabilities(texture, boxes).max() < DetectorConfig().check_accept, name


def test_without_the_check_no_check_model_is_needed(tmp_path):
    assert FaceDetector(DetectorConfig(check_from=0, face_check_model=str(tmp_path / "gone.onnx"))).find(
        data.astronaut())


def blurred_small_astronaut() -> np.ndarray:
    """The astronaut at a fifth of her size, blurred (sigma 3), on a grey 640 x 480 photo."""
    small = cv2.GaussianBlur(cv2.resize(data.astronaut(), None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA), (0, 0), 3)
    photo = np.full((480, 640, 3), 120, np.uint8)
    photo[100:100 + small.shape[0], 200:200 + small.shape[1]] = small
    return photo


def test_a_blurred_small_face_yunet_doubts_is_kept_by_the_face_check():
    photo = blurred_small_astronaut()
    assert FaceDetector(DetectorConfig(check_from=0)).find(photo) == []  # YuNet and its second look: not sure
    faces = FaceDetector(DetectorConfig()).find(photo)
    assert len(faces) == 1 and faces[0].score < DetectorConfig().score_threshold
    x, y, w, h = faces[0].box
    assert 200 < x + w / 2 < 300 and 100 < y + h / 2 < 200  # on her face, in the top middle of the little photo
    assert FaceDetector(DetectorConfig(check_accept=1.01)).find(photo) == []  # nothing is that sure: the check decides


def test_the_check_keeps_no_second_face_in_the_astronaut_at_any_turn():
    from conftest import turned

    detector = FaceDetector(DetectorConfig())
    assert [len(detector.find(turned(data.astronaut(), degrees))) for degrees in range(-30, 31, 5)] == [1] * 13


def test_the_check_reads_every_weak_box_and_the_likeliest_get_the_second_looks(monkeypatch):
    gravel = cv2.resize(data.gravel(), None, fx=2, fy=2)  # YuNet raises hundreds of weak boxes on it
    gravel = np.tile(gravel[..., None], (1, 2, 3))[:720, :1280]
    detector = FaceDetector(DetectorConfig())
    read, looked, look = [], [], detector._look

    def only_the_last_is_likely(gray, boxes):
        read.extend(boxes)
        return np.array([0.99 if i == len(boxes) - 1 else 0.0 for i in range(len(boxes))], np.float32)

    def spy_look(yunet, image, candidate, roll, side):
        looked.append(candidate.box)
        return look(yunet, image, candidate, roll, side)

    monkeypatch.setattr(detector._face_check, "probabilities", only_the_last_is_likely)
    monkeypatch.setattr(detector, "_look", spy_look)
    detector.find(gravel)
    assert len(read) > 4 * DetectorConfig().check_limit  # not only the best scored
    assert looked[-1] == read[-1]  # the worst scored box, the only likely one, had its second look


@pytest.mark.parametrize("probability, check_likely, kept", [(0.7, 0.5, True), (0.4, 0.5, False), (0.7, 0.0, False)])
def test_a_weak_face_the_check_finds_likely_is_kept_when_its_second_look_is_sure(monkeypatch, probability,
                                                                                 check_likely, kept):
    photo = blurred_small_astronaut()
    # YuNet scores her face 0.29: from 0.3 on, only the face check looks at it
    detector = FaceDetector(DetectorConfig(check_likely=check_likely, candidate_threshold=0.3))
    check, look, likely = detector._face_check.probabilities, detector._look, []

    def on_her_face(gray, boxes):  # the boxes the shipped check is sure of are found only likely
        sure = check(gray, boxes) >= DetectorConfig().check_accept
        likely.extend(box for box, yes in zip(boxes, sure) if yes)
        return np.where(sure, probability, 0.0).astype(np.float32)

    def a_sure_look(yunet, image, candidate, roll, side):  # ... and their second look is sure
        if candidate.box in likely:
            return Detection(candidate.box, DetectorConfig().verify_threshold + 0.05)
        return look(yunet, image, candidate, roll, side)

    monkeypatch.setattr(detector._face_check, "probabilities", on_her_face)
    monkeypatch.setattr(detector, "_look", a_sure_look)
    assert len(detector.find(photo)) == (1 if kept else 0)
