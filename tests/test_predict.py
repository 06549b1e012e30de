"""Faces and Predictor: detection on real photos, crops as training saw them, the public API."""

from __future__ import annotations

import numpy as np

from fer_core.evaluate import apply_temperature
import pytest
from PIL import Image

from fer_core import EMOTIONS, ModelError, Predictor
from fer_core.faces import FaceDetector, crop_face, to_gray


def test_detector_finds_the_astronaut_and_no_face_on_the_cat(astronaut_jpeg, cat_png):
    detector = FaceDetector()
    faces = detector.detect(to_gray(np.asarray(Image.open(astronaut_jpeg))))
    assert len(faces) == 1
    x, y, w, h = faces[0]
    assert 150 < x + w / 2 < 260 and 60 < y + h / 2 < 170  # her face, not the flag or the suit
    assert detector.detect(to_gray(np.asarray(Image.open(cat_png)))) == []


def test_crop_is_48_by_48_uint8_even_at_the_border():
    gray = np.arange(100 * 80, dtype=np.uint32).reshape(100, 80).astype(np.uint8)
    crop = crop_face(gray, (70, 90, 30, 30), margin=0.2)
    assert crop.shape == (48, 48) and crop.dtype == np.uint8


def test_predictor_public_api(tiny_model_path, astronaut_jpeg):
    predictor = Predictor.load(tiny_model_path)
    for source in (astronaut_jpeg, astronaut_jpeg.read_bytes(), Image.open(astronaut_jpeg),
                   np.asarray(Image.open(astronaut_jpeg))):
        faces = predictor.predict(source)
        assert len(faces) == 1
        face = faces[0]
        assert len(face.box) == 4 and face.label in EMOTIONS
        assert set(face.probabilities) == set(EMOTIONS)
        assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert face.label == max(face.probabilities, key=face.probabilities.get)
        assert face.crop.shape == (48, 48) and not face.whole_image


def test_no_face_gives_an_empty_list_or_the_whole_image_on_request(tiny_model_path, cat_png):
    predictor = Predictor.load(tiny_model_path)
    assert predictor.predict(cat_png) == []
    [whole] = predictor.predict(cat_png, whole_image_if_no_face=True)
    assert whole.whole_image and whole.box == (0, 0, 451, 300)


def test_rotated_photo_is_turned_upright_before_detection(tiny_model_path, astronaut_jpeg, tmp_path):
    upright = Image.open(astronaut_jpeg)
    stored = upright.rotate(90, expand=True)  # the camera stored it sideways...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...and says so: rotate 90 degrees clockwise to display
    stored.save(tmp_path / "sideways.jpg", exif=exif)
    assert len(Predictor.load(tiny_model_path).predict(tmp_path / "sideways.jpg")) == 1


def test_classify_batches_faces_and_tta_matches_manual_average(tiny_model_path):
    predictor = Predictor.load(tiny_model_path)
    faces = np.random.default_rng(0).integers(0, 255, (3, 48, 48), dtype=np.uint8)
    probabilities = predictor.classify(faces)
    x = faces.astype(np.float32)[..., None]
    manual = (np.asarray(predictor.model(x)) + np.asarray(predictor.model(x[:, :, ::-1]))) / 2
    np.testing.assert_allclose(probabilities, apply_temperature(manual, predictor.temperature), atol=1e-5)


def test_non_model_files_are_refused_with_a_reason(tmp_path):
    (tmp_path / "notes.keras").write_text("not a zip")
    with pytest.raises(ModelError, match="not a Keras .keras model file"):
        Predictor.load(tmp_path / "notes.keras")
    import pickle

    (tmp_path / "model.pkl").write_bytes(pickle.dumps({"weights": [1, 2]}))
    with pytest.raises(ModelError, match="pickle file; pickles run code"):
        Predictor.load(tmp_path / "model.pkl")
    with pytest.raises(ModelError, match="no such model file"):
        Predictor.load(tmp_path / "missing.keras")


def test_truncated_keras_file_is_refused(tiny_model_path, tmp_path):
    data = tiny_model_path.read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError):
        Predictor.load(tmp_path / "cut.keras")


def test_model_with_wrong_shapes_is_refused(tmp_path):
    import keras

    inputs = keras.Input((64, 64, 3))
    model = keras.Model(inputs, keras.layers.Dense(5)(keras.layers.Flatten()(inputs)))
    model.save(tmp_path / "wrong.keras")
    with pytest.raises(ModelError, match=r"expected \(None, 48, 48, 1\)"):
        Predictor.load(tmp_path / "wrong.keras")
