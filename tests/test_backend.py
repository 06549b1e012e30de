"""Keras computes with JAX where TensorFlow is not installed (it has no wheels for Python 3.14 nor current ones for Intel Macs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import find_spec

import numpy as np
import pytest
from conftest import REPO

from fer_core import backend
from fer_core.labels import EMOTIONS


@pytest.fixture
def without_tensorflow(monkeypatch, tmp_path):
    """An environment as Python 3.14's: no TensorFlow, JAX and PyTorch installed, no backend named.
    The variable is set before it is removed, so that the backend a test chooses is undone after it."""
    monkeypatch.setenv("KERAS_BACKEND", "unset")
    monkeypatch.delenv("KERAS_BACKEND")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(backend, "find_spec", lambda name: None if name == "tensorflow" else object())
    return tmp_path


def test_without_tensorflow_keras_computes_with_jax(without_tensorflow):
    assert backend.choose_keras_backend() == "jax"
    assert os.environ["KERAS_BACKEND"] == "jax"


def test_without_tensorflow_or_jax_keras_computes_with_pytorch(without_tensorflow, monkeypatch):
    monkeypatch.setattr(backend, "find_spec", lambda name: object() if name == "torch" else None)
    assert backend.choose_keras_backend() == "torch"
    assert os.environ["KERAS_BACKEND"] == "torch"


def test_a_backend_the_user_named_stands(without_tensorflow, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert backend.choose_keras_backend() is None
    assert os.environ["KERAS_BACKEND"] == "torch"
    monkeypatch.delenv("KERAS_BACKEND")
    (without_tensorflow / "keras.json").write_text(json.dumps({"backend": "torch", "floatx": "float32"}))
    assert backend.choose_keras_backend() is None
    assert "KERAS_BACKEND" not in os.environ


def test_a_keras_json_naming_the_missing_tensorflow_or_unreadable_is_overruled(without_tensorflow):
    (without_tensorflow / "keras.json").write_text(json.dumps({"backend": "tensorflow"}))
    assert backend.choose_keras_backend() == "jax"
    (without_tensorflow / "keras.json").write_text("{not json")
    assert backend.configured_backend() is None


def test_with_tensorflow_installed_nothing_changes(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setattr(backend, "find_spec", lambda name: object())
    assert backend.choose_keras_backend() is None
    assert "KERAS_BACKEND" not in os.environ


@pytest.mark.skipif(find_spec("jax") is None, reason="JAX is not installed (requirements-dev.txt has it)")
@pytest.mark.parametrize("which", ["tiny", pytest.param("shipped", marks=pytest.mark.slow)])  # shipped: ~40 s
def test_a_model_predicts_and_explains_under_jax(which, tiny_model_path):
    """The app's whole path on Keras under JAX, as on Python 3.14: a model (a tiny one trained under
    TensorFlow, or the shipped ensemble) through the Keras engine, compiled as one function that
    gives the direct call's probabilities at every batch size, and Grad-CAM's gradients."""
    model = tiny_model_path if which == "tiny" else REPO / "models" / "default.keras"
    script = f"""
import json
import keras
import numpy as np
from skimage import data
from fer_core.inference.predictor import Predictor, PredictorConfig
predictor = Predictor.load({str(model)!r}, PredictorConfig(engine="keras"))
faces = predictor.predict(data.astronaut())
cam = predictor.explain(faces[0])
engine, rng = predictor.engine, np.random.default_rng(0)
batches = [rng.integers(0, 256, (n, 48, 48, 1)).astype(np.float32) for n in (1, 2, 5)]
gap = lambda: max(float(np.abs(engine(x) - np.asarray(engine.model(x, training=False))).max()) for x in batches)
compiled_gap, before = gap(), engine(batches[2])
for weights in engine.model.trainable_variables[-2:]:  # the last layer's logits doubled: the compiled
    weights.assign(weights * 2.0)                        # function follows the new weights
compiled_gap, moved = max(compiled_gap, gap()), float(np.abs(engine(batches[2]) - before).max())
print(json.dumps({{"backend": keras.backend.backend(), "engine": predictor.engine_name, "faces": len(faces),
                  "label": faces[0].label, "sum": sum(faces[0].probabilities.values()),
                  "cam": [float(cam.min()), float(cam.max())], "compiled": engine._forward is not None,
                  "compiled_gap": compiled_gap, "moved": moved}}))
"""
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == "jax" and result["engine"] == "keras"
    assert result["compiled"] and result["compiled_gap"] < 1e-5  # one jit function, the direct call's numbers
    assert result["moved"] > 1e-3
    assert result["faces"] == 1 and result["label"] in (("happy", "neutral") if which == "shipped" else EMOTIONS)
    assert abs(result["sum"] - 1.0) < 1e-4
    assert result["cam"][0] == 0.0 and result["cam"][1] in (0.0, 1.0)  # a flat map is all zeros


def test_without_tensorflow_an_export_says_which_python_it_needs(monkeypatch, tiny_model_path):
    """The LiteRT and ONNX converters run on TensorFlow under any backend: an export without it
    stops, once what was asked for has been checked, with the way out and nothing written."""
    from conftest import synthetic_faces

    from fer_core.data.dataset import Dataset
    from fer_core.errors import ModelError
    from fer_core.recipes import export

    images, labels = synthetic_faces(n_per_class=2)
    data = Dataset(images, labels, np.full(len(labels), "PublicTest"), "synthetic.csv", "sha256:test")
    monkeypatch.setattr(export, "tensorflow_installed", lambda: False)
    for kind in export.FORMATS:
        with pytest.raises(ModelError, match=r"the (LiteRT|ONNX) export converts the model with TensorFlow, which "
                                             r"is not installed.*Python 3\.11-3\.13"):
            export.export_model(tiny_model_path, export.ExportConfig(format=kind), data)
    assert not list(tiny_model_path.parent.glob("*.tflite")) and not list(tiny_model_path.parent.glob("*.onnx"))


def test_on_an_intel_mac_an_export_says_where_tensorflow_runs(monkeypatch):
    """Intel Macs get no TensorFlow past 2.16 at any Python: the way out is another machine."""
    from fer_core.errors import ModelError
    from fer_core.recipes import export

    monkeypatch.setattr(export, "tensorflow_installed", lambda: False)
    monkeypatch.setattr(export.sys, "platform", "darwin")
    monkeypatch.setattr(export.platform, "machine", lambda: "x86_64")
    with pytest.raises(ModelError, match=r"no current wheels for Intel Macs\); run it on Linux, Windows or an "
                                         r"Apple-silicon Mac$"):
        export.require_tensorflow("the LiteRT export")


def test_the_backend_in_use_is_read_without_importing_keras(without_tensorflow, monkeypatch):
    assert backend.keras_backend_name() == "tensorflow"  # Keras's own default
    (without_tensorflow / "keras.json").write_text(json.dumps({"backend": "torch"}))
    assert backend.keras_backend_name() == "torch"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert backend.keras_backend_name() == "jax"


def test_the_keras_engine_compiles_for_the_backend_keras_runs_not_the_one_a_variable_names(monkeypatch,
                                                                                           tiny_model_path):
    """A model is loaded under the backend Keras was imported with; ``KERAS_BACKEND`` changed
    afterwards names another, and the engine must not follow it (JAX cannot trace TensorFlow's
    variables)."""
    import keras

    from fer_core.artifacts.keras_files import load_keras_model
    from fer_core.inference.engines import KerasEngine

    running = keras.backend.backend()
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow" if running == "jax" else "jax")
    engine = KerasEngine(load_keras_model(tiny_model_path))
    assert (engine._forward is not None) == (running == "jax")
    faces = np.random.default_rng(0).integers(0, 256, (2, 48, 48, 1)).astype(np.float32)
    assert np.allclose(engine(faces), np.asarray(engine.model(faces, training=False)), atol=1e-6)
