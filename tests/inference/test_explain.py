"""Grad-CAM: the heat map points at the part of the face that decides the class."""

import numpy as np
import pytest

from fer_core.inference.explain import GradCAM, target_layer
from fer_core.inference.render import overlay_on_face, overlay_on_photo

REGION = (slice(6, 22), slice(6, 22))  # rows, columns: the only place the class can be read


def region_decided_faces(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mild noise everywhere; stripes inside REGION mean class 0 (angry), their absence class 3 (happy)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(100, 150, (n, 48, 48)).astype(np.uint8)  # mild noise elsewhere
    labels = np.where(np.arange(n) % 2 == 0, 0, 3)
    stripes = (np.arange(16) // 2 % 2 * 200 + 25).astype(np.uint8)
    for image, label in zip(images, labels):
        if label == 0:
            image[REGION] = stripes[:, None]
    return images, labels


@pytest.fixture(scope="module")
def region_model():
    import keras

    from fer_core.nets.builders import build_model

    keras.utils.set_random_seed(0)
    images, labels = region_decided_faces(512)
    model = build_model("tiny_cnn")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(images[..., None].astype(np.float32), keras.utils.to_categorical(labels, 7), epochs=6,
              batch_size=32, verbose=0)
    return model


def test_the_model_learned_the_region_rule(region_model):
    images, labels = region_decided_faces(64, seed=1)
    predicted = np.asarray(region_model(images[..., None].astype(np.float32))).argmax(axis=1)
    assert (predicted == labels).mean() >= 0.95


def test_heat_map_mass_lies_mostly_in_the_deciding_region(region_model):
    cam = GradCAM(region_model)
    images, labels = region_decided_faces(40, seed=2)
    shares = []
    for image in images[labels == 0]:
        heat = cam.heatmap(image, 0)
        assert heat.shape == (48, 48) and 0 <= heat.min() and heat.max() <= 1
        row, column = np.unravel_index(heat.argmax(), heat.shape)
        assert REGION[0].start <= row < REGION[0].stop and REGION[1].start <= column < REGION[1].stop
        shares.append(heat[REGION].sum() / heat.sum())
    region_area = 16 * 16 / 48 ** 2  # 11% of the face
    assert np.mean(shares) > 0.5 > region_area, shares


@pytest.mark.parametrize("arch", ["seed_cnn", "vgg_fer_s", "vgg_fer", "tiny_cnn"])
def test_grad_cam_runs_on_every_registry_architecture(arch):
    from fer_core.nets.builders import build_model

    model = build_model(arch)
    layer = target_layer(model)
    assert len(layer.output.shape) == 4
    heat = GradCAM(model).heatmap(np.full((48, 48), 128, np.uint8), 5)
    assert heat.shape == (48, 48) and np.isfinite(heat).all()


def test_overlays_keep_the_picture_size():
    heat = np.linspace(0, 1, 48 * 48).reshape(48, 48)
    assert overlay_on_face(np.zeros((48, 48), np.uint8), heat, size=96).shape == (96, 96, 3)
    photo = np.zeros((100, 160, 3), np.uint8)
    out = overlay_on_photo(photo, [((150, 90, 30, 30), heat), ((10, 10, 40, 40), heat)])  # one box off the edge
    assert out.shape == photo.shape and out[10:50, 10:50].any() and not out[60:80, 60:80].any()


def test_predictor_explains_the_predicted_class_by_default(tiny_model_path, astronaut_jpeg):
    from fer_core.inference.predictor import Predictor

    predictor = Predictor.load(tiny_model_path)
    face = predictor.predict(astronaut_jpeg)[0]
    default = predictor.explain(face)
    assert np.allclose(default, predictor.explain(face, face.label))
    with pytest.raises(ValueError, match="angry, disgust"):
        predictor.explain(face, "bored")


def test_cli_explain_writes_a_png(tiny_model_path, astronaut_jpeg, tmp_path):
    from PIL import Image

    from fer_core.cli import main

    out = tmp_path / "why.png"
    assert main(["predict", str(astronaut_jpeg), "--model", str(tiny_model_path), "--explain", str(out),
                 "--explain-class", "sad"]) == 0
    assert Image.open(out).size == Image.open(astronaut_jpeg).size
