"""fer_core.nets.affine: rotation, shift and zoom in one resampling, and how training uses it."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import synthetic_faces
from skimage import data as skimage_data

from fer_core.data.dataset import Dataset
from fer_core.errors import TrainingError
from fer_core.inference.crops import crop_face, to_gray
from fer_core.inference.detector import FaceDetector
from fer_core.nets.affine import RandomAffine
from fer_core.training.augmentation import augmentation_layers
from fer_core.training.card import reproduce_command
from fer_core.training.config import TrainConfig
from fer_core.training.trainer import train


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    """64 copies of the astronaut's face, 48x48 grey, as the model sees it."""
    gray = to_gray(skimage_data.astronaut())
    face = crop_face(gray, FaceDetector().detect(gray)[0])
    return np.repeat(face.reshape(1, 48, 48, 1).astype("float32"), 64, axis=0)


def sharpness(images: np.ndarray) -> float:
    """Mean absolute Laplacian: falls as a face is blurred."""
    a = images[..., 0]
    laplacian = 4 * a[:, 1:-1, 1:-1] - a[:, :-2, 1:-1] - a[:, 2:, 1:-1] - a[:, 1:-1, :-2] - a[:, 1:-1, 2:]
    return float(np.abs(laplacian).mean())


def test_identity_at_inference_and_with_zero_ranges(faces):
    assert np.array_equal(np.asarray(RandomAffine(10, 0.1, 0.1, seed=1)(faces, training=False)), faces)
    still = np.asarray(RandomAffine(0, 0, 0, seed=1)(faces, training=True))
    np.testing.assert_allclose(still, faces, atol=1e-3)


def test_training_output_moves_the_face_but_stays_in_range(faces):
    moved = np.asarray(RandomAffine(10, 0.1, 0.1, seed=1)(faces, training=True))
    assert moved.shape == faces.shape and moved.dtype == np.float32
    assert moved.min() >= faces.min() - 1e-3 and moved.max() <= faces.max() + 1e-3  # bilinear + reflect
    changed = np.abs(moved - faces).reshape(len(faces), -1).mean(axis=1)
    assert (changed > 1).all()  # every face got its own transform
    assert len(np.unique(changed.round(3))) > 60


def test_transform_turns_about_the_centre_and_respects_the_ranges():
    layer = RandomAffine(rotation_degrees=15, shift=0.0, zoom=0.2, seed=3)
    t = np.asarray(layer.transforms(500, 48, 48))
    centre = 23.5
    np.testing.assert_allclose(t[:, 0] * centre + t[:, 1] * centre + t[:, 2], centre, atol=1e-4)
    np.testing.assert_allclose(t[:, 3] * centre + t[:, 4] * centre + t[:, 5], centre, atol=1e-4)
    scale = np.hypot(t[:, 0], t[:, 3])
    angle = np.degrees(np.arctan2(t[:, 3], t[:, 0]))
    assert 0.8 <= scale.min() and scale.max() <= 1.2 and scale.max() - scale.min() > 0.3
    assert np.abs(angle).max() <= 15 + 1e-3 and np.abs(angle).max() > 14
    shifted = np.asarray(RandomAffine(0, 0.1, 0, seed=3).transforms(500, 48, 48))
    assert np.abs(shifted[:, 2]).max() <= 4.8 + 1e-4 and np.abs(shifted[:, 2]).max() > 4.5


def test_one_resampling_keeps_more_detail_than_three(faces):
    def augmented(resampling: str) -> np.ndarray:
        config = TrainConfig(resampling=resampling, flip=False, erasing=0.0)
        return np.asarray(keras.Sequential(augmentation_layers(config, seed=5))(faces, training=True))

    single, sequential = sharpness(augmented("single")), sharpness(augmented("sequential"))
    assert sequential < 0.85 * single < sharpness(faces)


def test_augmentation_layers_follow_the_config():
    kinds = lambda config: [type(layer).__name__ for layer in augmentation_layers(config, seed=1)]
    assert kinds(TrainConfig(resampling="single")) == ["RandomFlip", "RandomAffine"]
    assert kinds(TrainConfig(erasing=0.25)) == [
        "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "RandomErasing"]
    assert kinds(TrainConfig(rotation_degrees=0, shift=0, zoom=0, flip=False)) == []
    with pytest.raises(TrainingError, match="resampling 'twice' is unknown; choose one of sequential, single"):
        TrainConfig(resampling="twice")


def test_cards_from_before_the_setting_read_as_sequential_and_single_is_in_the_command():
    old_card_config = {"arch": "vgg_fer_s", "epochs": 66, "zoom": 0.1}
    assert TrainConfig.from_dict(old_card_config).resampling == "sequential"
    single = TrainConfig.from_dict({**old_card_config, "resampling": "single"})
    assert "--resampling single" in reproduce_command(single, "fer2013.csv.gz", "m.keras")


def test_layer_saves_and_loads_in_safe_mode(tmp_path):
    model = keras.Sequential([keras.Input((48, 48, 1)), RandomAffine(12, 0.05, 0.15, seed=9),
                              keras.layers.Flatten(), keras.layers.Dense(7)])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    layer = loaded.layers[0]
    assert isinstance(layer, RandomAffine)
    assert (layer.rotation_degrees, layer.shift, layer.zoom, layer.seed) == (12, 0.05, 0.15, 9)


def test_an_augmented_run_resumes_from_its_checkpoint(tmp_path):
    images, labels = synthetic_faces(n_per_class=6)
    splits = np.where(np.arange(len(labels)) % 4 == 0, "PublicTest", "Training")
    data = Dataset(images, labels, splits, "synthetic.csv", "sha256:synthetic")
    fast = dict(arch="tiny_cnn", batch_size=16, warmup_epochs=0, learning_rate=0.01, resampling="single")
    train(TrainConfig(epochs=1, **fast), data, run_dir=tmp_path / "run")
    resumed = train(TrainConfig(epochs=2, **fast), data, run_dir=tmp_path / "run", resume=True)
    assert len(resumed.history["loss"]) == 2 and resumed.card["config"]["resampling"] == "single"


def test_fill_mode_repeats_the_edge_pixels_as_the_apps_crop_does():
    """Zoomed out, the face's surround is its edge pixels repeated ("nearest"), as the app fills a crop
    reaching past a photo's edge, or the face mirrored ("reflect")."""
    ramp = np.tile(np.arange(48, dtype="float32") * 5, (48, 1))  # brighter to the right, constant down
    faces = np.repeat(ramp.reshape(1, 48, 48, 1), 8, axis=0)

    def zoomed_out(fill_mode: str) -> np.ndarray:
        config = TrainConfig(resampling="single", flip=False, rotation_degrees=0, shift=0, zoom=0.5,
                             fill_mode=fill_mode)
        (layer,) = augmentation_layers(config, seed=2)
        # the largest zoom the layer draws (1.5 times the face, about its centre), for every face
        layer.transforms = lambda batch, height, width: np.tile(
            np.array([[1.5, 0, -0.25 * 47, 0, 1.5, -0.25 * 47, 0, 0]], "float32"), (batch, 1))
        return np.asarray(layer(faces, training=True))

    nearest, reflect = zoomed_out("nearest"), zoomed_out("reflect")
    np.testing.assert_allclose(nearest[:, :, :4, 0], 0.0, atol=1e-3)  # the left edge's 0 repeated
    np.testing.assert_allclose(nearest[:, :, -4:, 0], 235.0, atol=1e-3)  # the right edge's 235 repeated
    assert reflect[:, :, 0, 0].min() > 20  # mirrored: the face comes back past its edge
    assert "--fill-mode nearest" in reproduce_command(TrainConfig(fill_mode="nearest"), "fer2013.csv.gz", "m.keras")
    assert TrainConfig.from_dict({"arch": "vgg_fer", "zoom": 0.1}).fill_mode == "reflect"  # cards before the setting
    with pytest.raises(TrainingError, match="fill_mode 'wrap' is unknown; choose one of reflect, nearest"):
        TrainConfig(fill_mode="wrap")
