"""fer_core.nets.builders: every registered architecture honours the 48x48x1 -> 7 contract."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO

from fer_core.nets.builders import ARCHITECTURES, build_model


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_architecture_maps_faces_to_seven_probabilities(name):
    model = build_model(name)
    assert model.input_shape == (None, 48, 48, 1) and model.output_shape == (None, 7)
    out = np.asarray(model(np.full((2, 48, 48, 1), 128.0, np.float32), training=False))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)


def test_seed_cnn_is_the_blog_network_layer_for_layer():
    model = build_model("seed_cnn")
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "Rescaling", "Conv2D", "MaxPooling2D", "Conv2D", "Conv2D", "AveragePooling2D",
                     "Conv2D", "Conv2D", "AveragePooling2D", "Flatten", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [64, 64, 64, 128, 128]
    assert [c.kernel_size for c in convs] == [(5, 5)] + [(3, 3)] * 4
    dense = [layer.units for layer in model.layers if type(layer).__name__ == "Dense"]
    assert dense == [1024, 1024, 7]


def test_modern_architecture_has_batch_norm_and_dropout():
    kinds = {type(layer).__name__ for layer in build_model("vgg_fer").layers}
    assert {"BatchNormalization", "Dropout", "GlobalAveragePooling2D"} <= kinds


def test_unknown_architecture_lists_the_known_ones():
    with pytest.raises(KeyError, match="seed_cnn"):
        build_model("resnet9000")


def test_model_code_uses_only_the_keras_api():
    """The networks and the trainer run under any Keras backend (JAX on a GPU machine)."""

    package = REPO / "fer_core"
    for path in [*(package / "nets").glob("*.py"), *(package / "training").rglob("*.py")]:
        if path.name == "worker.py":  # it sets TensorFlow's thread pools when TensorFlow is the backend
            continue
        source = path.read_text()
        assert "import tensorflow" not in source and "tf." not in source, path


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_layer_names_do_not_depend_on_what_the_process_built_before(name):
    import keras

    first = [layer.name for layer in build_model(name).layers]
    for other in ARCHITECTURES:  # the pages build and load models in the same process between two runs
        build_model(other)
    keras.layers.MaxPooling2D()  # an unnamed layer moves Keras's per-thread name counters
    again = [layer.name for layer in build_model(name).layers]
    assert first == again and len(set(first)) == len(first)


def test_every_listed_architecture_has_a_builder_and_the_app_hides_the_test_fixture():
    from fer_core.nets.architectures import ARCHITECTURE_NAMES, offered_architectures

    assert set(ARCHITECTURE_NAMES) == set(ARCHITECTURES)
    assert "tiny_cnn" not in [a.name for a in offered_architectures()]


def test_the_training_model_names_every_layer(tmp_path):
    from fer_core.training.config import TrainConfig
    from fer_core.training.training_model import build_training_model

    config = TrainConfig(arch="tiny_cnn", erasing=0.2, resampling="single")
    names = [layer.name for layer in build_training_model(config).layers]
    assert names[:3] == ["aug_flip", "aug_affine", "aug_erase"] and names == [
        layer.name for layer in build_training_model(config).layers]
