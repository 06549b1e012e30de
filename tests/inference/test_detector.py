"""The YuNet detector, its second look, and the upright crop (the Haar cascade is covered in test_predictor.py)."""

from __future__ import annotations

import shutil
import threading

import cv2
import numpy as np
import pytest
from conftest import REPO, turned
from skimage import data

from fer_core.errors import ModelError
from fer_core.inference.crops import crop_detection
from fer_core.inference.detector import Detection, DetectorConfig, FaceDetector
from fer_core.inference.yunet import YuNet, free_input_size
from fer_core.paths import YUNET_MODEL

YUNET = DetectorConfig(kind="yunet")


@pytest.fixture(scope="module")
def yunet():
    return FaceDetector(YUNET)


@pytest.mark.parametrize("degrees", [0, -30, -15, 15, 30])
def test_yunet_finds_the_astronaut_turned_up_to_30_degrees_with_five_landmarks(yunet, degrees):
    faces = yunet.find(turned(data.astronaut(), degrees))
    assert len(faces) == 1 and faces[0].score > 0.6 and len(faces[0].landmarks) == 5


@pytest.mark.parametrize("name", ["chelsea", "coffee", "rocket", "coins", "hubble_deep_field", "immunohistochemistry",
                                  "brick", "grass", "gravel"])
def test_yunet_finds_no_face_in_photos_without_one(yunet, name):
    assert yunet.find(getattr(data, name)()) == []


def test_one_yunet_detector_shared_by_eight_threads_finds_the_single_threaded_faces(yunet):
    photos = [turned(data.astronaut(), degrees) for degrees in (0, 10, 20, -20)]
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
    with pytest.raises(ModelError, match="gone.onnx: the YuNet face detector model is missing"):
        FaceDetector(DetectorConfig(kind="yunet", yunet_model=str(tmp_path / "gone.onnx")))
    damaged = tmp_path / "damaged.onnx"
    damaged.write_bytes(b"\x08\x07" + bytes(500))
    with pytest.raises(ModelError, match="damaged.onnx: not a YuNet ONNX model ONNX Runtime can run"):
        FaceDetector(DetectorConfig(kind="yunet", yunet_model=str(damaged)))
    other = tmp_path / "expression.onnx"  # an ONNX file, but not a face detector
    shutil.copy(REPO / "static" / "live" / "models" / "expression.onnx", other)
    with pytest.raises(ModelError, match="expression.onnx: not a YuNet ONNX model"):
        FaceDetector(DetectorConfig(kind="yunet", yunet_model=str(other)))


@pytest.mark.parametrize("turn", [0, 25])
def test_onnx_runtime_finds_what_opencvs_face_detector_finds(turn):
    """The same boxes, landmarks and scores as cv2.FaceDetectorYN on OpenCV's own copy of the file:
    one face, turned or not, three side by side, and a photo without a face."""
    from skimage import data

    from fer_core.paths import YUNET_UPSTREAM_MODEL

    face = cv2.warpAffine(data.astronaut(), cv2.getRotationMatrix2D((256, 256), turn, 1.0), (512, 512))
    for photo in (face, np.hstack([face, face[:, ::-1], face]), data.chelsea()):
        bgr = cv2.cvtColor(np.ascontiguousarray(photo), cv2.COLOR_RGB2BGR)
        opencv = cv2.FaceDetectorYN.create(str(YUNET_UPSTREAM_MODEL), "", (bgr.shape[1], bgr.shape[0]), 0.7, 0.3, 5000)
        expected = opencv.detect(bgr)[1]
        expected = np.zeros((0, 15)) if expected is None else expected
        found = YuNet(YUNET_MODEL, 0.7, 0.3).detect(bgr)
        assert found.shape == expected.shape
        assert np.abs(found - expected).max(initial=0) < 1e-3


def test_the_shipped_free_size_file_is_opencvs_file_with_its_input_size_freed():
    pytest.importorskip("onnx")
    from fer_core.paths import YUNET_UPSTREAM_MODEL

    assert free_input_size(YUNET_UPSTREAM_MODEL) == YUNET_MODEL.read_bytes()


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
    from conftest import REPO

    from fer_core.inference.predictor import Predictor, PredictorConfig

    faces = Predictor.load(config=PredictorConfig(detector=YUNET)).predict(REPO / "assets" / "example_astronaut.jpg")
    assert len(faces) == 1 and faces[0].label == "happy"


# ------------------------------------------------------------ hard photos, through the app's predictor

@pytest.fixture(scope="module")
def predictor():
    from fer_core.inference.predictor import Predictor

    return Predictor.load()  # the shipped model with the app's default detector


def noise_canvas(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth colour-noise background with no face in it."""
    noise = np.random.default_rng(seed).normal(128, 30, (height // 8, width // 8, 3))
    return cv2.resize(np.clip(noise, 0, 255).astype(np.uint8), (width, height))


HEAD = data.astronaut()[30:230, 130:330]  # the astronaut's head and shoulders, 200 x 200


def test_a_small_face_in_a_4000_by_3000_photo_is_found_where_it_is(predictor):
    photo = noise_canvas(3000, 4000, 0)
    photo[1400:1640, 2000:2240] = cv2.resize(HEAD, (240, 240))  # a face box of about 120 px
    faces = predictor.predict(photo)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert 2000 < x + w / 2 < 2240 and 1400 < y + h / 2 < 1640 and 80 < w < 200


def test_a_group_photo_with_ten_faces_of_60_to_120_px_finds_all_ten(predictor):
    photo, rng = noise_canvas(1080, 1920, 1), np.random.default_rng(2)
    for index in range(10):
        side = int(rng.integers(120, 240))  # head crops: the face itself is about half of that
        top = int(rng.integers(50, 1080 - side - 50))
        photo[top:top + side, 80 + index * 180:80 + index * 180 + side] = cv2.resize(HEAD, (side, side))
    assert len(predictor.predict(photo)) == 10


@pytest.mark.parametrize("change", ["dark", "low contrast", "JPEG quality 8", "sunglasses", "hand over the mouth",
                                    "cut by the photo's edge"])
def test_a_selfie_made_hard_still_has_its_face_found(predictor, change):
    photo = data.astronaut().copy()
    if change == "dark":
        photo = (photo * 0.25).astype(np.uint8)
    elif change == "low contrast":
        photo = (128 + (photo.astype(float) - 128) * 0.3).astype(np.uint8)
    elif change == "JPEG quality 8":
        encoded = cv2.imencode(".jpg", cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 8])[1]
        photo = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    elif change == "sunglasses":
        cv2.rectangle(photo, (190, 92), (222, 112), (10, 10, 10), -1)
        cv2.rectangle(photo, (235, 92), (262, 112), (10, 10, 10), -1)
        cv2.line(photo, (222, 100), (235, 100), (10, 10, 10), 3)
    elif change == "hand over the mouth":
        cv2.ellipse(photo, (222, 150), (35, 22), 0, 0, 360, (200, 160, 140), -1)
    else:
        photo = np.ascontiguousarray(photo[:, 220:])  # the left third of the face is outside the photo
    faces = predictor.predict(photo)
    assert len(faces) == 1 and faces[0].crop.shape == (48, 48)
    x, y, w, h = faces[0].box
    assert x >= 0 and y >= 0 and x + w <= photo.shape[1] and y + h <= photo.shape[0]


def test_a_small_face_turned_by_40_degrees_is_found_by_the_second_look():
    from ui.live_harness import small_head_turned_by_40

    photo = small_head_turned_by_40()
    alone = DetectorConfig(candidate_threshold=0, check_from=0)
    assert FaceDetector(alone).find(photo) == []  # YuNet alone: under 0.7
    faces = FaceDetector(DetectorConfig()).find(photo)
    assert len(faces) == 1 and faces[0].score >= DetectorConfig().verify_threshold
    x, y, w, h = faces[0].box
    assert 130 < x + w / 2 < 190 and 100 < y + h / 2 < 160
    assert faces[0].roll == pytest.approx(-40, abs=8)


@pytest.mark.parametrize("light", ["red", "green", "blue"])
def test_a_small_face_under_coloured_light_is_found_by_the_second_looks_gray_view(yunet, light):
    from ui.live_harness import astronaut_under_coloured_light

    photo, (face_x, face_y) = astronaut_under_coloured_light(light)
    assert FaceDetector(DetectorConfig(gray_look=False)).find(photo) == []  # the look in colour: unsure
    faces = yunet.find(photo)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert abs(x + w / 2 - face_x) < 8 and abs(y + h / 2 - face_y) < 8


def test_a_gray_photo_gets_no_second_look_in_gray(monkeypatch):
    """A gray view looked at again in gray would be the same look twice: a gray photo costs the
    same YuNet runs either way (the photo, and the looks at the face it is unsure of)."""
    from ui.live_harness import astronaut_under_coloured_light

    photo = cv2.cvtColor(cv2.cvtColor(astronaut_under_coloured_light("green")[0], cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    runs = {}
    for gray_look in (False, True):
        detector = FaceDetector(DetectorConfig(gray_look=gray_look))
        seen = runs[gray_look] = []
        detect = detector._yunet_model.detect
        monkeypatch.setattr(detector._yunet_model, "detect", lambda view, seen=seen, detect=detect: seen.append(view.shape)
                            or detect(view))
        assert len(detector.find(photo)) == 1
    assert len(runs[True]) == len(runs[False]) >= 2


def test_a_photo_without_a_face_can_still_be_classified_whole(predictor):
    assert predictor.predict(data.chelsea()) == []
    whole = predictor.predict(data.chelsea(), whole_image_if_no_face=True)
    assert len(whole) == 1 and whole[0].whole_image


def yunet_candidates(detector: FaceDetector, photo: np.ndarray) -> tuple[np.ndarray, list[Detection]]:
    """The detector's copy of ``photo`` (BGR) and every box YuNet raises in it, best scored first."""
    from fer_core.inference.detector import detector_view

    bgr = cv2.cvtColor(detector_view(photo, detector.config.detect_max_side)[0], cv2.COLOR_RGB2BGR)
    return bgr, detector._yunet_pass(detector._yunet_model, bgr)


def test_a_large_face_its_second_look_leaves_unsure_is_looked_at_again_larger(monkeypatch):
    detector = FaceDetector(DetectorConfig(check_from=0))
    bgr, raised = yunet_candidates(detector, cv2.resize(data.astronaut(), None, fx=2, fy=2))
    face = raised[0]  # the astronaut's face, about 170 x 210 px in the detector's copy
    assert max(face.box[2:]) > DetectorConfig().verify_side
    sides, look = [], detector._look

    def shrunk_look_sees_nothing(yunet, image, candidate, roll, side):
        sides.append(side)
        return None if side == DetectorConfig().verify_side else look(yunet, image, candidate, roll, side)

    monkeypatch.setattr(detector, "_look", shrunk_look_sees_nothing)
    larger = detector._second_look(detector._yunet_model, bgr, face, 0.0)
    assert sides == [128, 256] and larger is not None and larger.score >= DetectorConfig().verify_threshold
    assert abs(larger.box[0] + larger.box[2] / 2 - (face.box[0] + face.box[2] / 2)) < face.box[2] / 4
    sides.clear()  # a face no larger than the first look's 128 px gets no larger look
    assert detector._second_look(detector._yunet_model, bgr, Detection((300.0, 100.0, 120.0, 120.0), 0.3), 0.0) is None
    assert sides == [128]
    sides.clear()
    monkeypatch.setattr(detector, "config", DetectorConfig(check_from=0, large_look_side=0))
    assert detector._second_look(detector._yunet_model, bgr, face, 0.0) is None and sides == [128]


class RowsYuNet:
    """Stands in for YuNet in a second look: the same rows (x, y, w, h, 10 landmark values, score)
    whatever the view."""

    def __init__(self, rows: list[tuple[float, float, float, float, float]]):
        self.rows = np.array([[x, y, w, h, *([x + w / 2, y + h / 2] * 5), score] for x, y, w, h, score in rows],
                             np.float32)

    def detect(self, view: np.ndarray) -> np.ndarray:
        return self.rows


def test_the_second_look_keeps_the_best_scored_face_in_the_middle_not_the_box_nearest_it(yunet):
    """A bench face (PublicTest, seed 1) YuNet scored 0.81 in its 128-px look was turned down
    because its mouth raised a 0.04 box nearer the view's middle."""
    rows = [(70, 67, 120, 148, 0.81),  # the face, its centre 13 px from the 256-px view's middle
            (105, 98, 62, 79, 0.04),  # its mouth, 9.5 px from the middle
            (0, 0, 100, 100, 0.95),  # a face off the middle: another face's
            (118, 118, 20, 20, 0.9)]  # a box far smaller than the face looked at
    bgr = np.zeros((300, 300, 3), np.uint8)
    look = yunet._look(RowsYuNet(rows), bgr, Detection((100.0, 100.0, 64.0, 64.0), 0.5), 0.0, 128)
    assert look is not None and look.score == pytest.approx(0.81)
    assert look.box == pytest.approx((103.0, 101.5, 60.0, 74.0))  # mapped back: half the size, about its centre
    assert yunet._look(RowsYuNet(rows[2:]), bgr, Detection((100.0, 100.0, 64.0, 64.0), 0.5), 0.0, 128) is None


def test_a_box_too_small_to_enlarge_gets_neither_a_second_look_nor_the_check(monkeypatch):
    photo = cv2.resize(data.astronaut(), (120, 120), interpolation=cv2.INTER_AREA)  # her face about 20 px
    photo = cv2.copyMakeBorder(photo, 300, 300, 580, 580, cv2.BORDER_REFLECT)  # 1280 x 720, the detector sees 960
    detector = FaceDetector(DetectorConfig())
    _, raised = yunet_candidates(detector, photo)
    least = DetectorConfig().verify_min_side
    assert any(max(f.box[2:]) < least and f.score < DetectorConfig().score_threshold for f in raised)
    looked, checked, look, check = [], [], detector._look, detector._face_check.probabilities

    def spy_look(yunet, image, candidate, roll, side):
        looked.append(max(candidate.box[2:]))
        return look(yunet, image, candidate, roll, side)

    def spy_check(gray, boxes):
        checked.extend(max(box[2:]) for box in boxes)
        return check(gray, boxes)

    monkeypatch.setattr(detector, "_look", spy_look)
    monkeypatch.setattr(detector._face_check, "probabilities", spy_check)
    detector.find(photo)
    assert looked and checked and min(looked + checked) >= least


def test_the_detectors_copy_averages_every_photo_pixel_however_far_it_is_shrunk():
    """Shrunk by half or less the copy is interpolated (as area averaging at exactly half);
    shrunk further it is area-averaged, so fine texture becomes its mean, not an alias."""
    from fer_core.inference.detector import detector_view

    noise = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    half, scale = detector_view(noise, 960)
    assert scale == 0.5 and half.shape == (540, 960, 3)
    np.testing.assert_array_equal(half, cv2.resize(noise, (960, 540), interpolation=cv2.INTER_AREA))
    quarter, scale = detector_view(np.tile(noise, (2, 2, 1)), 960)
    assert scale == 0.25
    # 16 photo pixels averaged into each: the noise's spread falls by 4 (sampling 4 of them: by 2)
    assert float(quarter.std()) < float(noise.std()) / 3.5
