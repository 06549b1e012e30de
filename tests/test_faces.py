"""The YuNet detector and the eye-levelled crop (the Haar cascade is covered in test_predict.py)."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from skimage import data

from fer_core.faces import Detection, DetectorConfig, FaceDetector, crop_detection

YUNET = DetectorConfig(kind="yunet")


def rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)


@pytest.fixture(scope="module")
def yunet():
    return FaceDetector(YUNET)


@pytest.mark.parametrize("degrees", [0, -30, -15, 15, 30])
def test_yunet_finds_the_astronaut_turned_up_to_30_degrees_with_five_landmarks(yunet, degrees):
    faces = yunet.find(rotated(data.astronaut(), degrees))
    assert len(faces) == 1 and faces[0].score > 0.6 and len(faces[0].landmarks) == 5


@pytest.mark.parametrize("name", ["chelsea", "coffee", "rocket"])
def test_yunet_finds_no_face_in_photos_without_one(yunet, name):
    assert yunet.find(getattr(data, name)()) == []


def test_one_yunet_detector_shared_by_eight_threads_finds_the_single_threaded_faces(yunet):
    photos = [rotated(data.astronaut(), degrees) for degrees in (0, 10, 20, -20)]
    expected = [yunet.detect(photo) for photo in photos]
    results, errors = {}, []

    def work(thread: int) -> None:
        try:
            for call in range(12):
                index = (thread + call) % len(photos)
                results[(thread, call)] = (index, yunet.detect(photos[index]))
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and len(results) == 96
    assert all(boxes == expected[index] for index, boxes in results.values())


def test_a_missing_or_damaged_yunet_model_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="the YuNet face detector model is missing"):
        FaceDetector(DetectorConfig(kind="yunet", yunet_model=str(tmp_path / "gone.onnx")))
    damaged = tmp_path / "damaged.onnx"
    damaged.write_bytes(b"\x08\x07" + bytes(500))
    with pytest.raises(RuntimeError, match="not a YuNet ONNX model OpenCV can load"):
        FaceDetector(DetectorConfig(kind="yunet", yunet_model=str(damaged)))


def test_an_unknown_detector_is_refused():
    with pytest.raises(ValueError, match="detector 'mtcnn' is unknown; choose one of yunet, haar"):
        DetectorConfig(kind="mtcnn")


def test_the_crop_is_turned_to_level_the_eyes_the_landmarks_give():
    gray = np.zeros((200, 200), np.uint8)
    cv2.line(gray, (60, 80), (140, 120), 255, 3)  # a bright line through both "eyes", tilted by 26.6 degrees
    face = Detection((50, 50, 100, 100), 0.9, ((60.0, 80.0), (140.0, 120.0), (100, 110), (80, 130), (120, 140)))
    assert face.eye_angle == pytest.approx(26.57, abs=0.01)
    crop = crop_detection(gray, face, DetectorConfig(kind="yunet"))
    rows = np.flatnonzero(crop.max(axis=1) > 128)
    assert rows.max() - rows.min() <= 4  # the line is level in the crop: it spans only a few rows


def test_the_crop_frames_with_scale_and_shift_and_stays_48_by_48_at_the_photo_edge():
    gray = np.tile(np.arange(200, dtype=np.uint8), (200, 1))
    face = Detection((150, 150, 60, 60), 0.9, ((160.0, 170.0), (190.0, 170.0), (175, 185), (165, 195), (185, 195)))
    crop = crop_detection(gray, face, DetectorConfig(kind="yunet", crop_scale=1.2, crop_shift=0.05))
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    level = crop_detection(gray, Detection((40, 40, 60, 60)), DetectorConfig(kind="yunet"))
    np.testing.assert_array_equal(level, crop_detection(gray, Detection((40, 40, 60, 60)), DetectorConfig()))


def test_the_predictor_with_yunet_labels_the_example_face(tmp_path):
    from fer_core.predict import Predictor, PredictorConfig

    from conftest import REPO

    faces = Predictor.load(config=PredictorConfig(detector=YUNET)).predict(REPO / "assets" / "example_astronaut.jpg")
    assert len(faces) == 1 and faces[0].label == "happy"
