"""fer_core.nets.input_blur and fer_core.recipes.blur: a fixed Gaussian blur in front of a network, chosen on the validation split."""

from __future__ import annotations

import json

import cv2
import keras
import numpy as np
import pytest
from conftest import needs_tensorflow, synthetic_faces

from fer_core.artifacts.catalog import architecture_of
from fer_core.artifacts.keras_files import load_keras_model
from fer_core.cli import main
from fer_core.data.dataset import Dataset
from fer_core.errors import ModelError
from fer_core.inference.explain import GradCAM, explainer_for
from fer_core.inference.predictor import Predictor
from fer_core.nets.input_blur import (
    BLUR_LAYER,
    blur_radius,
    has_input_blur,
    network_weights,
    with_input_blur,
)
from fer_core.recipes.blur import BlurConfig, best_trial, make_blurred_model, try_blurs
from fer_core.training.config import TrainConfig
from fer_core.training.trainer import train


def tiny_dataset() -> Dataset:
    """The data ``tiny_model_path`` was trained on (same faces, splits and fingerprint)."""
    images, labels = synthetic_faces(n_per_class=12)
    splits = np.where(np.arange(len(labels)) % 4 == 0, "PublicTest", "Training")
    return Dataset(images, labels, splits, "synthetic.csv", "sha256:test")


@pytest.fixture(scope="module")
def blurred(tiny_model_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("blurred") / "tiny_blur.keras"
    card = make_blurred_model(BlurConfig(model=str(tiny_model_path), sigmas=(0.0, 0.6, 1.5)), tiny_dataset(), out)
    return out, card


@pytest.mark.parametrize("sigma", [0.6, 1.3])
def test_the_model_sees_the_face_blurred_with_replicated_edges(tiny_model_path, sigma):
    network = load_keras_model(tiny_model_path)
    model = with_input_blur(network, sigma)
    faces = np.random.default_rng(0).integers(0, 256, (4, 48, 48)).astype(np.float32)
    size = 2 * blur_radius(sigma) + 1
    blurred = np.stack([cv2.GaussianBlur(face, (size, size), sigma, borderType=cv2.BORDER_REPLICATE) for face in faces])
    np.testing.assert_allclose(np.asarray(model(faces[..., None])), np.asarray(network(blurred[..., None])), atol=1e-5)
    assert not np.allclose(np.asarray(model(faces[..., None])), np.asarray(network(faces[..., None])), atol=1e-5)


def test_the_blurred_model_is_flat_keeps_the_weights_and_saves_in_safe_mode(tiny_model_path, tmp_path):
    network = load_keras_model(tiny_model_path)
    model = with_input_blur(network, 0.6)
    assert not any(isinstance(layer, keras.Model) for layer in model.layers)  # Grad-CAM needs the conv layers
    assert has_input_blur(model) and not has_input_blur(network)
    assert not model.get_layer(BLUR_LAYER).trainable
    for mine, theirs in zip(network_weights(model), network.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    model.save(tmp_path / "b.keras")
    x = np.random.default_rng(1).integers(0, 256, (3, 48, 48, 1)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(load_keras_model(tmp_path / "b.keras")(x)), np.asarray(model(x)), atol=1e-6)
    assert with_input_blur(network, 0.0) is network


def test_a_blur_is_not_stacked_on_a_blur(tiny_model_path):
    model = with_input_blur(load_keras_model(tiny_model_path), 0.6)
    with pytest.raises(ModelError, match="already has an input blur"):
        with_input_blur(model, 0.6)


def test_the_chosen_blur_has_the_lowest_log_loss_of_the_trials(tiny_model_path):
    data = tiny_dataset().subset("PublicTest")
    trials = try_blurs(load_keras_model(tiny_model_path), data.images, data.labels, (0.0, 0.8, 2.0))
    assert [trial.sigma for trial in trials] == [0.0, 0.8, 2.0]
    unblurred = Predictor.load(tiny_model_path)
    unblurred.temperature = 1.0
    assert trials[0].accuracy == unblurred.evaluate(data.images, data.labels).accuracy
    assert trials[0].accuracy_tta == unblurred.evaluate(data.images, data.labels, tta=True).accuracy
    assert best_trial(trials).log_loss == min(trial.log_loss for trial in trials)


def test_the_card_records_the_trials_the_network_and_fresh_metrics(tiny_model_path, blurred):
    out, card = blurred
    network_card = json.loads(tiny_model_path.with_suffix(".json").read_text())
    assert card == json.loads(out.with_suffix(".json").read_text())
    blur = card["input_blur"]
    assert [trial["sigma"] for trial in blur["trials"]] == [0.0, 0.6, 1.5]
    assert blur["sigma"] == min(blur["trials"], key=lambda trial: trial["log_loss"])["sigma"]
    assert blur["chosen_on"] == "PublicTest" and "log loss" in blur["criterion"]
    assert card["derived_from"]["command"] == network_card["command"]
    assert card["history"] == network_card["history"] and card["config"] == network_card["config"]
    assert card["command"] == (f"python -m fer_core blur --model {tiny_model_path} --data synthetic.csv --out {out} "
                               "--sigmas 0,0.6,1.5")
    data = tiny_dataset().subset("PublicTest")
    model = load_keras_model(out)
    assert card["parameters"] == model.count_params()
    assert has_input_blur(model) == (blur["sigma"] > 0)
    measured = Predictor.load(out).evaluate(data.images, data.labels)
    assert measured.accuracy == card["metrics"]["PublicTest"]["accuracy"]
    assert "litert" not in card and card["calibration"]["n"] == len(data)


def test_an_existing_model_is_not_overwritten_and_other_data_is_refused(tiny_model_path, blurred):
    out, card = blurred
    before = out.read_bytes()
    with pytest.raises(ModelError, match="exists"):
        make_blurred_model(BlurConfig(model=str(tiny_model_path), sigmas=(0.5,)), tiny_dataset(), out)
    other = tiny_dataset()
    other.fingerprint = "sha256:other"
    with pytest.raises(ModelError, match="trained on data sha256:test"):
        make_blurred_model(BlurConfig(model=str(tiny_model_path), sigmas=(0.5,)), other, out.with_name("x.keras"))
    assert out.read_bytes() == before and not out.with_name("x.keras").exists()


def test_grad_cam_explains_a_blurred_model(tiny_model_path):
    model = with_input_blur(load_keras_model(tiny_model_path), 0.6)
    explainer = explainer_for(model)
    assert isinstance(explainer, GradCAM) and explainer.layer_name != BLUR_LAYER
    heat = explainer.heatmap(synthetic_faces(n_per_class=1)[0][3], 3)
    assert heat.shape == (48, 48) and np.isfinite(heat).all()


def test_training_can_start_from_a_blurred_model(tiny_model_path, tmp_path):
    blurred_path = tmp_path / "blurred.keras"
    with_input_blur(load_keras_model(tiny_model_path), 0.6).save(blurred_path)
    config = TrainConfig(arch="tiny_cnn", epochs=1, batch_size=16, augment=False, warmup_epochs=0,
                         learning_rate=1e-9, init_from=str(blurred_path))
    result = train(config, tiny_dataset(), out_path=tmp_path / "again.keras", run_dir=tmp_path / "run")
    network = load_keras_model(tiny_model_path)
    again = load_keras_model(result.model_path)
    assert not has_input_blur(again)
    for mine, theirs in zip(again.get_weights(), network.get_weights()):
        np.testing.assert_allclose(mine, theirs, atol=1e-3)  # a learning rate of 1e-9 barely moves them


def test_a_network_trained_on_from_a_blurred_one_records_how_that_one_was_trained(tiny_model_path, blurred,
                                                                                 tmp_path):
    """Train, blur, train on from the blurred file: the new card names the blurred file, its blur
    command and settings, and the command that trained the network under the blur."""
    blurred_path, blurred_card = blurred
    config = TrainConfig(arch="tiny_cnn", epochs=1, batch_size=16, warmup_epochs=0, learning_rate=1e-4,
                         resampling="single", zoom=0.25, fill_mode="nearest", init_from=str(blurred_path))
    again = train(config, tiny_dataset(), out_path=tmp_path / "again.keras", run_dir=tmp_path / "run").model_path
    card = json.loads(again.with_suffix(".json").read_text())
    assert "--fill-mode nearest" in card["command"] and f"--init-from {blurred_path}" in card["command"]
    start = card["initialised_from"]
    assert start["model"] == str(blurred_path) and start["command"] == blurred_card["command"]
    assert start["config"] == blurred_card["config"]  # the first network's own settings
    assert start["derived_from"] == {"model": str(tiny_model_path), "command": blurred_card["derived_from"]["command"]}
    assert start["derived_from"]["command"].startswith("python -m fer_core train ")


def test_the_catalog_names_the_blur():
    assert architecture_of({"architecture": "vgg_fer_s", "input_blur": {"sigma": 0.6}}) == "vgg_fer_s + input blur"
    assert architecture_of({"architecture": "vgg_fer_s", "input_blur": {"sigma": 0.0}}) == "vgg_fer_s"
    assert architecture_of({"architecture": "vgg_fer_s"}) == "vgg_fer_s"


def test_the_cli_blurs_and_reports_each_trial(tiny_model_path, tiny_csv, tmp_path, capsys):
    network, out = tmp_path / "net.keras", tmp_path / "cli.keras"
    assert main(["train", "--data", str(tiny_csv), "--arch", "tiny_cnn", "--epochs", "1", "--batch-size", "8",
                 "--out", str(network), "--run-dir", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    assert main(["blur", "--model", str(network), "--data", str(tiny_csv), "--out", str(out), "--sigmas", "0,0.7"]) == 0
    printed = capsys.readouterr().out
    assert "sigma 0.00: log loss" in printed and "sigma 0.70: log loss" in printed and "<- chosen" in printed
    assert json.loads(out.with_suffix(".json").read_text())["input_blur"]["sigma"] in (0.0, 0.7)
    # tiny_model_path was trained on other data (another fingerprint): refused, nothing written
    assert main(["blur", "--model", str(tiny_model_path), "--data", str(tiny_csv), "--out", str(tmp_path / "x.keras")]) == 2
    assert "trained on data sha256:test" in capsys.readouterr().err and not (tmp_path / "x.keras").exists()
    assert main(["blur", "--model", str(network), "--data", str(tiny_csv), "--out", str(tmp_path / "y.keras"),
                 "--sigmas", "0.5,wide"]) == 2
    assert "--sigmas '0.5,wide': expected comma-separated numbers" in capsys.readouterr().err


def test_sigmas_out_of_range_are_refused():
    with pytest.raises(ModelError, match="between 0 and 3"):
        BlurConfig(model="m.keras", sigmas=(0.5, -1.0))
    with pytest.raises(ModelError, match="at least one"):
        BlurConfig(model="m.keras", sigmas=())


@needs_tensorflow
def test_the_litert_export_of_a_blurred_model_matches_keras(tiny_model_path, tmp_path):
    pytest.importorskip("ai_edge_litert")
    from fer_core.artifacts.exports import export_path_for
    from fer_core.inference.engines import LiteRTEngine
    from fer_core.recipes.export import export_model

    model = tmp_path / "blurred.keras"
    make_blurred_model(BlurConfig(model=str(tiny_model_path), sigmas=(0.6,)), tiny_dataset(), model)
    record = export_model(model)  # refuses an export that differs from Keras by more than 1e-4
    x = np.random.default_rng(2).integers(0, 256, (3, 48, 48, 1)).astype(np.float32)
    lite = LiteRTEngine(export_path_for(model, "litert"))(x)
    np.testing.assert_allclose(lite, np.asarray(load_keras_model(model)(x)), atol=1e-4)
    assert record["max_difference"] < 1e-4 and has_input_blur(load_keras_model(model))
