"""Faces and Predictor: detection on real photos, crops as training saw them, the public API."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fer_core.errors import ModelError
from fer_core.inference.crops import crop_face, to_gray
from fer_core.inference.detector import FaceDetector
from fer_core.inference.predictor import Predictor, PredictorConfig
from fer_core.labels import EMOTIONS
from fer_core.limits import Limits
from fer_core.metrics.probabilities import apply_temperature


def test_detector_finds_the_astronaut_and_no_face_on_the_cat(astronaut_jpeg, cat_png):
    detector = FaceDetector()
    faces = detector.detect(to_gray(np.asarray(Image.open(astronaut_jpeg))))
    assert len(faces) == 1
    x, y, w, h = faces[0]
    assert 150 < x + w / 2 < 260 and 60 < y + h / 2 < 170  # her face, not the flag or the suit
    assert detector.detect(to_gray(np.asarray(Image.open(cat_png)))) == []



def test_one_detector_shared_by_eight_threads_finds_the_single_threaded_boxes(astronaut_jpeg):
    import threading

    detector = FaceDetector()
    gray = to_gray(np.asarray(Image.open(astronaut_jpeg)))
    expected = detector.detect(gray)
    found = []

    def worker() -> None:
        for _ in range(25):
            found.append(detector.detect(gray))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(found) == 8 * 25 and all(boxes == expected for boxes in found)  # one shared cascade broke this

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
    predictor = Predictor.load(tiny_model_path, PredictorConfig(skip_mirror_from=1.0))
    faces = np.random.default_rng(0).integers(0, 255, (3, 48, 48), dtype=np.uint8)
    probabilities = predictor.classify(faces)
    x = faces.astype(np.float32)[..., None]
    manual = (np.asarray(predictor.model(x)) + np.asarray(predictor.model(x[:, :, ::-1]))) / 2
    np.testing.assert_allclose(probabilities, apply_temperature(manual, predictor.temperature), atol=1e-5)


class SureOfBrightFaces:
    """A stand-in network: 90% happy for a face whose left half is bright, else 60% sad; it
    records the batches it is given."""

    def __init__(self):
        self.batches = []

    def __call__(self, x, training=False):
        self.batches.append(np.array(x))
        sure = x[:, :, :24].mean(axis=(1, 2, 3)) > 128
        out = np.full((len(x), len(EMOTIONS)), 0.4 / 6)
        out[:, EMOTIONS.index("sad")] = 0.6
        out[sure] = 0.1 / 6
        out[sure, EMOTIONS.index("happy")] = 0.9
        return out


def test_a_face_the_model_is_sure_of_skips_its_mirror_image():
    """Faces 0 and 2 are bright on the left (sure, 0.9), their mirrors dark there (0.6 sad); face 1
    is dark on both sides. Only face 1's mirror is classified, in a second call."""
    faces = np.zeros((3, 48, 48), np.uint8)
    faces[[0, 2], :, :24] = 255
    engine = SureOfBrightFaces()
    predictor = Predictor(engine, card={"temperature": 1.0})
    probabilities = predictor.classify(faces)
    assert [len(batch) for batch in engine.batches] == [3, 1]
    np.testing.assert_array_equal(engine.batches[1][0], faces[1, :, ::-1, None])
    assert [EMOTIONS[i] for i in probabilities.argmax(axis=1)] == ["happy", "sad", "happy"]
    assert probabilities[0, EMOTIONS.index("happy")] == pytest.approx(0.9)  # its own view, unaveraged
    assert probabilities[1, EMOTIONS.index("sad")] == pytest.approx(0.6)

    engine.batches.clear()
    every = Predictor(engine, card={"temperature": 1.0}, config=PredictorConfig(skip_mirror_from=1.0))
    averaged = every.classify(faces)
    assert [len(batch) for batch in engine.batches] == [3, 3]
    assert averaged[0, EMOTIONS.index("happy")] == pytest.approx((0.9 + 0.4 / 6) / 2)  # its mirror is unsure

    engine.batches.clear()
    Predictor(engine, config=PredictorConfig(tta=False)).classify(faces)
    assert [len(batch) for batch in engine.batches] == [3]
    with pytest.raises(ValueError, match="skip_mirror_from is a probability"):
        PredictorConfig(skip_mirror_from=1.5)


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


def _group_photo(rows: int = 5, columns: int = 6, head_height: int = 150) -> np.ndarray:
    """A grid of rows x columns astronaut heads (alternately mirrored) on a grey wall."""
    from skimage import data as skimage_data

    head = Image.fromarray(skimage_data.astronaut()).crop((120, 10, 330, 250))
    width = round(head.width * head_height / head.height)
    patch = np.asarray(head.resize((width, head_height)))
    gap = 20
    canvas = np.full((rows * (head_height + gap) + gap, columns * (width + gap) + gap, 3), 200, np.uint8)
    for r in range(rows):
        for c in range(columns):
            y, x = gap + r * (head_height + gap), gap + c * (width + gap)
            canvas[y:y + head_height, x:x + width] = patch[:, ::-1] if (r + c) % 2 else patch
    return canvas


def test_thirty_faces_are_all_found_and_the_cap_is_reported(tiny_model_path):
    photo = _group_photo()
    faces = Predictor.load(tiny_model_path).predict(photo)
    assert len(faces) == faces.found == 30 and not faces.capped
    assert len({face.box for face in faces}) == 30

    capped = Predictor.load(tiny_model_path, PredictorConfig(limits=Limits(max_faces=12))).predict(photo)
    assert len(capped) == 12 and capped.found == 30 and capped.capped
    sizes = [face.box[2] * face.box[3] for face in faces]
    assert min(face.box[2] * face.box[3] for face in capped) >= sorted(sizes)[-12]  # the largest are kept


def _tiny_copy(tiny_model_path, tmp_path, **card_changes):
    import json
    import shutil

    target = tmp_path / "copy.keras"
    shutil.copy(tiny_model_path, target)
    card = json.loads(tiny_model_path.with_suffix(".json").read_text())
    target.with_suffix(".json").write_text(json.dumps({**card, **card_changes}))
    return target


def test_a_model_card_that_belongs_to_another_model_is_refused(tiny_model_path, tmp_path):
    with pytest.raises(ModelError, match="describes a model with 1,234 parameters.*belongs to another model"):
        Predictor.load(_tiny_copy(tiny_model_path, tmp_path, parameters=1234))
    reordered = ["happy", "angry", "disgust", "fear", "sad", "surprise", "neutral"]
    with pytest.raises(ModelError, match="the model card lists classes"):
        Predictor.load(_tiny_copy(tiny_model_path, tmp_path, classes=reordered))
    assert Predictor.load(_tiny_copy(tiny_model_path, tmp_path)).predict(_group_photo(1, 1)) is not None
