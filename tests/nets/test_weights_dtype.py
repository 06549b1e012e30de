"""fer_core.nets.weights_dtype: weights stored in float16 take half the file and give the same answers."""

from __future__ import annotations

import numpy as np
import pytest

from fer_core.artifacts.keras_files import load_keras_model
from fer_core.errors import ModelError
from fer_core.nets.builders import build_model
from fer_core.nets.weights_dtype import weights_dtype, with_weights_dtype


def test_float16_storage_halves_the_file_and_loading_computes_in_float32(tmp_path):
    network = build_model("vgg_fer_s")
    x = np.random.default_rng(0).integers(0, 256, (4, 48, 48, 1)).astype(np.float32)
    expected = np.asarray(network(x, training=False))
    full, half = tmp_path / "full.keras", tmp_path / "half.keras"
    network.save(full)
    with_weights_dtype(network, "float16").save(half)
    assert half.stat().st_size < 0.55 * full.stat().st_size
    loaded = load_keras_model(half)
    assert weights_dtype(loaded) == "float32" and loaded.count_params() == network.count_params()
    assert loaded.layers[-1].compute_dtype == "float32"
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), expected, atol=1e-3)


def test_the_rounding_is_the_only_change():
    network = build_model("tiny_cnn")
    weights = network.get_weights()
    halved = with_weights_dtype(network, "float16")
    assert weights_dtype(halved) == "float16" and weights_dtype(network) == "float32"
    for before, after in zip(weights, halved.get_weights()):
        np.testing.assert_array_equal(after, before.astype(np.float16))


def test_an_unknown_dtype_is_refused():
    with pytest.raises(ModelError, match="weights can be stored as float32 or float16; got 'int8'"):
        with_weights_dtype(build_model("tiny_cnn"), "int8")
