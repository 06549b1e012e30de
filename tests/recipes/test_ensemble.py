"""fer_core.recipes.ensemble: averaging trained models into one model file with a card that says how."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, csv_text, needs_tensorflow, synthetic_faces

from fer_core.artifacts.keras_files import load_keras_model
from fer_core.cli.info import describe
from fer_core.data.loading import load_dataset
from fer_core.errors import ModelError
from fer_core.inference.explain import EnsembleGradCAM, GradCAM, explainer_for
from fer_core.inference.predictor import Predictor
from fer_core.nets.graph import ensemble_members
from fer_core.nets.weights_dtype import weights_dtype
from fer_core.recipes.ensemble import EnsembleConfig, make_ensemble
from fer_core.training.config import TrainConfig
from fer_core.training.trainer import train


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """A FER2013-format CSV and two tiny_cnn models trained on it with different seeds."""
    folder = tmp_path_factory.mktemp("ensemble")
    csv = folder / "faces.csv"
    csv.write_text(csv_text(*synthetic_faces(n_per_class=12)))
    data = load_dataset(csv)
    paths = []
    for seed in (1, 2):
        config = TrainConfig(arch="tiny_cnn", epochs=4, batch_size=16, augment=False, warmup_epochs=0,
                             learning_rate=0.01, seed=seed)
        paths.append(train(config, data, out_path=folder / f"seed{seed}.keras", run_dir=folder / f"run{seed}").model_path)
    return csv, data, paths


@pytest.fixture(scope="module")
def ensemble(members, tmp_path_factory):
    csv, data, paths = members
    out = tmp_path_factory.mktemp("out") / "both.keras"
    card = make_ensemble(EnsembleConfig(members=tuple(map(str, paths))), data, out)
    return out, card


def test_the_ensemble_outputs_the_mean_of_its_members(members, ensemble):
    _, _, paths = members
    out, _ = ensemble
    x = np.random.default_rng(0).integers(0, 256, (5, 48, 48, 1)).astype(np.float32)
    expected = np.mean([np.asarray(load_keras_model(path)(x)) for path in paths], axis=0)
    model = load_keras_model(out)  # safe mode: nested models and an Average layer, no Lambda
    np.testing.assert_allclose(np.asarray(model(x)), expected, atol=1e-6)
    assert len(ensemble_members(model)) == 2 and ensemble_members(load_keras_model(paths[0])) == []


def test_the_card_records_each_member_and_the_ensembles_own_metrics(members, ensemble):
    csv, data, paths = members
    out, card = ensemble
    assert card == json.loads(out.with_suffix(".json").read_text())
    assert card["command"] == f"python -m fer_core ensemble {paths[0]} {paths[1]} --data {csv} --out {out}"
    assert card["architecture"] == "ensemble of tiny_cnn + tiny_cnn"
    assert card["parameters"] == sum(load_keras_model(path).count_params() for path in paths)
    for member, path in zip(card["members"], paths):
        member_card = json.loads(path.with_suffix(".json").read_text())
        assert member["command"] == member_card["command"] and member["history"] == member_card["history"]
        assert member["metrics"]["PublicTest"]["accuracy"] == member_card["metrics"]["PublicTest"]["accuracy"]
    assert card["training"]["seconds"] == pytest.approx(sum(m["training"]["seconds"] for m in card["members"]), abs=0.2)
    assert {"Training", "PublicTest", "PublicTest (flip TTA)"} <= set(card["metrics"])
    measured = Predictor.load(out).evaluate(data.subset("PublicTest").images, data.subset("PublicTest").labels)
    assert measured.accuracy == card["metrics"]["PublicTest"]["accuracy"]
    assert card["temperature"] > 0 and card["calibration"]["n"] == len(data.subset("PublicTest"))



def test_a_blurred_member_keeps_its_blur_and_the_network_it_came_from(members, tmp_path):
    from fer_core.recipes.blur import BlurConfig, make_blurred_model

    _, data, paths = members
    blurred = tmp_path / "seed1_blur.keras"
    make_blurred_model(BlurConfig(model=str(paths[0]), sigmas=(0.0, 0.7)), data, blurred)
    card = make_ensemble(EnsembleConfig(members=(str(blurred), str(paths[1]))), data, tmp_path / "mix.keras")
    first, second = card["members"]
    assert first["command"].startswith("python -m fer_core blur ") and first["input_blur"]["chosen_on"] == "PublicTest"
    assert first["derived_from"]["command"] == json.loads(paths[0].with_suffix(".json").read_text())["command"]
    assert "input_blur" not in second and "derived_from" not in second

def test_grad_cam_of_an_ensemble_averages_its_members_maps(ensemble):
    model = load_keras_model(ensemble[0])
    explainer = explainer_for(model)
    assert isinstance(explainer, EnsembleGradCAM)
    face = synthetic_faces(n_per_class=1)[0][3]
    maps = [GradCAM(member).heatmap(face, 3) for member in ensemble_members(model)]
    mean = np.mean(maps, axis=0)
    np.testing.assert_allclose(explainer.heatmap(face, 3), mean / mean.max(), atol=1e-6)


@needs_tensorflow
def test_the_ensemble_exports_to_litert_and_predicts_through_it(ensemble, tmp_path):
    pytest.importorskip("ai_edge_litert")
    from fer_core.recipes.export import export_model

    out = tmp_path / "copy.keras"
    shutil.copy(ensemble[0], out)
    shutil.copy(ensemble[0].with_suffix(".json"), out.with_suffix(".json"))
    assert export_model(out)["max_difference"] < 1e-4
    predictor = Predictor.load(out)
    assert predictor.engine_name == "litert"
    faces = predictor.predict(REPO / "assets" / "example_astronaut.jpg")
    assert len(faces) == 1 and predictor.explain(faces[0]).shape == (48, 48)


def test_float16_weights_are_stored_in_16_bits_and_load_computing_in_float32(members, ensemble, tmp_path):
    import keras

    _, data, paths = members
    out = tmp_path / "half.keras"
    card = make_ensemble(EnsembleConfig(members=tuple(map(str, paths)), weights_dtype="float16"), data, out)
    assert card["config"]["weights_dtype"] == "float16" and card["command"].endswith("--weights-dtype float16")
    assert weights_dtype(keras.saving.load_model(out, safe_mode=True)) == "float16"  # what the file holds
    assert describe(out)["weights_dtype"] == "float16" and describe(ensemble[0])["weights_dtype"] == "float32"
    x = np.random.default_rng(1).integers(0, 256, (8, 48, 48, 1)).astype(np.float32)
    loaded = load_keras_model(out)
    assert weights_dtype(loaded) == "float32" and len(ensemble_members(loaded)) == 2
    full = np.asarray(load_keras_model(ensemble[0])(x))
    np.testing.assert_allclose(np.asarray(loaded(x)), full, atol=2e-3)
    assert card["metrics"]["PublicTest"]["accuracy"] == pytest.approx(ensemble[1]["metrics"]["PublicTest"]["accuracy"],
                                                                      abs=0.05)


def test_an_unknown_weights_dtype_is_refused():
    with pytest.raises(ModelError, match="--weights-dtype must be float32 or float16; got 'int8'"):
        EnsembleConfig(members=("a.keras", "b.keras"), weights_dtype="int8")


def test_a_member_may_be_replaced_by_the_ensemble(members, tmp_path):
    _, data, paths = members
    first, second = tmp_path / "default.keras", tmp_path / "other.keras"
    for source, target in ((paths[0], first), (paths[1], second)):
        shutil.copy(source, target)
        shutil.copy(source.with_suffix(".json"), target.with_suffix(".json"))
    make_ensemble(EnsembleConfig(members=(str(first), str(second))), data, first, overwrite=True)
    assert len(ensemble_members(load_keras_model(first))) == 2


def _copy_without_card(path, folder):
    target = folder / "no_card.keras"
    shutil.copy(path, target)
    return target


@pytest.mark.parametrize("case, message", [
    ("one member", "at least two member models"),
    ("the same member twice", "listed twice"),
    ("a member without a card", "has no model card"),
    ("a member trained on other data", "was trained on data sha256:other"),
    ("an ensemble as a member", "is itself an ensemble"),
    ("an existing output", "a model with this name exists"),
    ("not a .keras output", "must be a .keras file"),
], ids=lambda value: value.replace(" ", "_"))
def test_bad_ensembles_are_refused_with_a_specific_message(members, ensemble, tmp_path, case, message):
    _, data, paths = members
    first, second = map(str, paths)
    out = tmp_path / "e.keras"
    if case == "one member":
        listed = (first,)
    elif case == "the same member twice":
        listed = (first, first)
    elif case == "a member without a card":
        listed = (first, str(_copy_without_card(paths[1], tmp_path)))
    elif case == "a member trained on other data":
        other = tmp_path / "other.keras"
        shutil.copy(paths[1], other)
        card = json.loads(paths[1].with_suffix(".json").read_text())
        card["data"]["fingerprint"] = "sha256:other"
        other.with_suffix(".json").write_text(json.dumps(card))
        listed = (first, str(other))
    elif case == "an ensemble as a member":
        listed = (first, str(ensemble[0]))
    elif case == "an existing output":
        out.write_bytes(b"keep me")
        listed = (first, second)
    else:
        out = tmp_path / "e.h5"
        listed = (first, second)
    with pytest.raises(ModelError, match=message):
        make_ensemble(EnsembleConfig(members=listed), data, out)
    if case == "an existing output":
        assert out.read_bytes() == b"keep me"


@pytest.mark.slow  # two command-line ensembles of trained models; CI runs it
def test_cli_ensemble_prints_the_result_and_refuses_bad_input_in_one_line(members, tmp_path):
    csv, _, paths = members
    out = tmp_path / "cli.keras"
    command = [sys.executable, "-m", "fer_core", "ensemble", *map(str, paths), "--data", str(csv), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{out}: PublicTest accuracy" in done.stdout and out.is_file()
    again = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert again.stderr.strip().splitlines() == [f"error: {out}: a model with this name exists; choose another "
                                                 "name or pass --overwrite"]
