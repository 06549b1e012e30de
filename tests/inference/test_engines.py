"""The exported engines (LiteRT, ONNX): exported once, same probabilities as Keras, never used when stale,
the fastest chosen."""

import shutil

import numpy as np
import pytest
from conftest import needs_tensorflow

from fer_core.artifacts.cards import card_path, read_card
from fer_core.artifacts.exports import export_path_for, matching_export
from fer_core.artifacts.keras_files import load_keras_model
from fer_core.errors import ModelError
from fer_core.inference.engines import KerasEngine, LiteRTEngine, open_engine
from fer_core.inference.predictor import Predictor, PredictorConfig
from fer_core.recipes.export import (
    PARITY_TOLERANCE,
    QUANTIZED_MAX_ACCURACY_DROP,
    QUANTIZED_TOLERANCE,
    ExportConfig,
    export_model,
)

pytest.importorskip("ai_edge_litert")


@pytest.fixture(scope="module")
def exported(tiny_model_path, tmp_path_factory):
    """A copy of the tiny model with its LiteRT twin written by export_model."""
    folder = tmp_path_factory.mktemp("exported")
    model = folder / "tiny.keras"
    shutil.copy(tiny_model_path, model)
    shutil.copy(card_path(tiny_model_path), card_path(model))
    record = export_model(model)
    return model, record


@needs_tensorflow
def test_export_writes_the_file_and_records_it_in_the_card(exported):
    model, record = exported
    assert export_path_for(model, "litert").is_file()
    assert record["max_difference"] <= PARITY_TOLERANCE
    assert read_card(model)["litert"] == record


@needs_tensorflow
def test_litert_gives_the_keras_probabilities_within_1e4_for_any_batch_size(exported):
    model, _ = exported
    keras_engine = KerasEngine(load_keras_model(model))
    lite = LiteRTEngine(export_path_for(model, "litert"))
    rng = np.random.default_rng(7)
    for n in (1, 2, 5, 1, 33):
        x = rng.integers(0, 256, (n, 48, 48, 1)).astype(np.float32)
        assert np.abs(keras_engine(x) - lite(x)).max() <= PARITY_TOLERANCE


@needs_tensorflow
def test_auto_engine_prefers_an_up_to_date_export(exported):
    model, _ = exported
    predictor = Predictor.load(model)
    assert predictor.engine_name == "litert"
    keras_predictor = Predictor.load(model, PredictorConfig(engine="keras"))
    faces = np.random.default_rng(3).integers(0, 256, (4, 48, 48)).astype(np.uint8)
    assert np.abs(predictor.classify(faces) - keras_predictor.classify(faces)).max() <= PARITY_TOLERANCE


def _copy_with_its_export(model, folder):
    """``model``, its card and its LiteRT file copied into ``folder``; the copy's path."""
    copy = folder / model.name
    for path_of in (lambda path: path, card_path, lambda path: export_path_for(path, "litert")):
        shutil.copy(path_of(model), path_of(copy))
    return copy


@needs_tensorflow
def test_a_stale_export_is_never_used(exported, tmp_path):
    model, _ = exported
    changed = _copy_with_its_export(model, tmp_path)
    card = read_card(changed)
    card["litert"]["keras_sha256"] = "0" * 64  # the .keras file was retrained since the export
    card_path(changed).write_text(__import__("json").dumps(card))
    assert matching_export(changed, card, "litert") is None
    assert Predictor.load(changed).engine_name == "keras"
    with pytest.raises(ModelError, match="no up-to-date tiny.tflite"):
        open_engine(changed, card, "litert")


@pytest.mark.parametrize("kind", ["litert", "onnx"])
def test_a_garbage_export_is_refused_with_its_name(tmp_path, kind):
    from fer_core.inference.engines import EXPORT_ENGINES

    bad = export_path_for(tmp_path / "bad.keras", kind)
    bad.write_bytes(b"not a model at all")
    with pytest.raises(ModelError, match=rf"{bad.name}: not an? \w+ model this runtime can load"):
        EXPORT_ENGINES[kind](bad)


@needs_tensorflow
def test_unknown_engine_name_lists_the_choices(exported):
    model, _ = exported
    with pytest.raises(ModelError, match="auto, onnx, litert, keras"):
        open_engine(model, {}, "tensorrt")


def test_the_shipped_model_has_an_up_to_date_export():
    from fer_core.paths import DEFAULT_MODEL_PATH

    assert matching_export(DEFAULT_MODEL_PATH, read_card(DEFAULT_MODEL_PATH), "litert") is not None, \
        "run: python -m fer_core export"


@pytest.fixture
def model_copy(tiny_model_path, tmp_path):
    """A fresh copy of the tiny model and its card, with no export yet."""
    model = tmp_path / "tiny.keras"
    shutil.copy(tiny_model_path, model)
    shutil.copy(card_path(tiny_model_path), card_path(model))
    return model


def _tiny_dataset():
    from conftest import synthetic_faces

    from fer_core.data.dataset import Dataset

    images, labels = synthetic_faces(n_per_class=12)
    splits = np.where(np.arange(len(labels)) % 4 == 0, "PublicTest", "Training")
    return Dataset(images, labels, splits, "synthetic.csv", "sha256:test")


@needs_tensorflow
def test_an_int8_export_is_measured_against_keras_and_recorded(model_copy):
    data = _tiny_dataset()
    record = export_model(model_copy, ExportConfig(quantize="dynamic"), data)
    assert record["quantization"] == "dynamic" and record["max_difference"] <= QUANTIZED_TOLERANCE
    accuracy = record["accuracy"]
    assert accuracy["split"] == "PublicTest" and accuracy["n"] == int((data.splits == "PublicTest").sum())
    for view in ("", " (flip TTA)"):
        assert accuracy[f"keras{view}"] - accuracy[f"litert{view}"] <= QUANTIZED_MAX_ACCURACY_DROP
    assert read_card(model_copy)["litert"] == record
    assert Predictor.load(model_copy).engine_name == "litert"


def test_an_int8_export_needs_faces_to_be_measured_on(model_copy):
    with pytest.raises(ModelError, match="--data"):
        export_model(model_copy, ExportConfig(quantize="dynamic"))
    with pytest.raises(ModelError, match="none, dynamic"):
        export_model(model_copy, ExportConfig(quantize="float16"))
    assert not export_path_for(model_copy, "litert").exists() and "litert" not in read_card(model_copy)


@needs_tensorflow
def test_an_int8_export_that_loses_accuracy_is_refused_and_the_old_one_kept(model_copy, monkeypatch):
    import fer_core.recipes.export as export

    float_record = export_model(model_copy)
    before = export_path_for(model_copy, "litert").read_bytes()
    monkeypatch.setattr(export, "QUANTIZED_MAX_ACCURACY_DROP", -1.0)  # any export now counts as a loss
    with pytest.raises(ModelError, match="less accurate on PublicTest"):
        export_model(model_copy, ExportConfig(quantize="dynamic"), _tiny_dataset())
    assert export_path_for(model_copy, "litert").read_bytes() == before and read_card(model_copy)["litert"] == float_record
    assert sorted(path.name for path in model_copy.parent.iterdir()) == ["tiny.json", "tiny.keras", "tiny.tflite"]


@needs_tensorflow
def test_the_model_list_quotes_the_accuracy_of_the_engine_the_app_runs(model_copy):
    from fer_core.artifacts.catalog import list_models

    card = read_card(model_copy)
    keras_accuracy = card["metrics"]["PublicTest (flip TTA)"]["accuracy"]  # the app mirrors unsure faces
    assert list_models(model_copy.parent)[0].accuracy == keras_accuracy  # no export: Keras's number
    record = export_model(model_copy, ExportConfig(quantize="dynamic"), _tiny_dataset())
    assert list_models(model_copy.parent)[0].accuracy == record["accuracy"]["litert (flip TTA)"]
    card = read_card(model_copy)
    card["litert"]["keras_sha256"] = "0" * 64  # stale export: the app would run Keras
    card_path(model_copy).write_text(__import__("json").dumps(card))
    assert list_models(model_copy.parent)[0].accuracy == keras_accuracy


@pytest.mark.slow  # three ONNX conversions; CI runs it
@pytest.mark.parametrize("quantize", ["none", "dynamic", "static"])
def test_an_onnx_export_agrees_with_keras_and_is_measured_on_real_faces(model_copy, quantize):
    pytest.importorskip("tf2onnx")
    from fer_core.inference.engines import OnnxEngine

    record = export_model(model_copy, ExportConfig(format="onnx", quantize=quantize), _tiny_dataset())
    assert export_path_for(model_copy, "onnx").is_file() and read_card(model_copy)["onnx"] == record
    assert record["max_difference"] <= (PARITY_TOLERANCE if quantize == "none" else QUANTIZED_TOLERANCE)
    for view in ("", " (flip TTA)"):
        assert record["accuracy"][f"keras{view}"] - record["accuracy"][f"onnx{view}"] <= QUANTIZED_MAX_ACCURACY_DROP
    faces = np.random.default_rng(5).integers(0, 256, (3, 48, 48, 1)).astype(np.float32)
    keras_out = KerasEngine(load_keras_model(model_copy))(faces)
    assert np.abs(OnnxEngine(export_path_for(model_copy, "onnx"))(faces) - keras_out).max() <= record["max_difference"] + 1e-6
    assert "litert" not in read_card(model_copy)  # the LiteRT export is untouched


def test_an_onnx_export_needs_faces_to_be_measured_on(model_copy):
    with pytest.raises(ModelError, match="an ONNX export must be measured on real faces; give the dataset"):
        export_model(model_copy, ExportConfig(format="onnx"))
    assert not export_path_for(model_copy, "onnx").exists()


def test_the_shipped_model_runs_its_int8_onnx_file():
    from fer_core.artifacts.exports import fastest_exports
    from fer_core.paths import DEFAULT_MODEL_PATH

    card = read_card(DEFAULT_MODEL_PATH)
    assert card["onnx"]["quantization"] == "static", "run: python -m fer_core export --format onnx --quantize static"
    assert fastest_exports(DEFAULT_MODEL_PATH, card)[0] == "onnx"
    assert Predictor.load().engine_name == "onnx"


def _card_with_exports(model, **quantizations) -> dict:
    """``model``'s card recording an export of each kind given (files of any bytes), as export writes them."""
    from fer_core.artifacts.exports import file_sha256

    card = read_card(model)
    for kind, quantization in quantizations.items():
        export_path_for(model, kind).write_bytes(b"an export")
        card[kind] = {"keras_sha256": file_sha256(model), "quantization": quantization}
    return card


@pytest.mark.parametrize("quantizations, fastest_first", [
    ({"onnx": "static", "litert": "dynamic"}, ["onnx", "litert"]),
    ({"onnx": "none", "litert": "dynamic"}, ["litert", "onnx"]),
    ({"onnx": "dynamic", "litert": "dynamic"}, ["litert", "onnx"]),
    ({"onnx": "static"}, ["onnx"]),
])
def test_auto_tries_int8_activations_then_int8_weights_then_float32(model_copy, quantizations, fastest_first):
    from fer_core.artifacts.exports import fastest_exports

    card = _card_with_exports(model_copy, **quantizations)
    assert fastest_exports(model_copy, card) == fastest_first
    card["onnx"]["keras_sha256"] = "0" * 64  # retrained since: the ONNX file is stale
    assert fastest_exports(model_copy, card) == [kind for kind in fastest_first if kind != "onnx"]


@needs_tensorflow
def test_a_damaged_onnx_file_gives_way_to_the_litert_one_with_a_warning(exported, tmp_path):
    model, _ = exported
    copy = _copy_with_its_export(model, tmp_path)
    card = _card_with_exports(copy, onnx="static")
    card["onnx"]["onnx_sha256"] = "0" * 64  # what export recorded; the file on disk is not that
    card_path(copy).write_text(__import__("json").dumps(card))
    predictor = Predictor.load(copy)
    assert predictor.engine_name == "litert"
    assert f"{export_path_for(copy, 'onnx')}: the file does not match the SHA-256 recorded at export" in predictor.warning
    with pytest.raises(ModelError, match="does not match the SHA-256"):
        open_engine(copy, card, "onnx")


def test_an_onnx_file_that_is_not_an_expression_model_is_refused_with_its_name():
    from fer_core.inference.engines import OnnxEngine
    from fer_core.paths import ROLL_MODEL

    with pytest.raises(ModelError, match=r"face_roll.onnx: the ONNX model's inputs and outputs are .*expected"):
        OnnxEngine(ROLL_MODEL)  # 48 x 48 x 1 in, a turn out


def test_a_static_export_is_onnx_only_and_calibrated_apart_from_its_scoring_split(model_copy):
    with pytest.raises(ModelError, match="--quantize static .* is for --format onnx"):
        export_model(model_copy, ExportConfig(quantize="static"), _tiny_dataset())
    with pytest.raises(ModelError, match="calibrated on PublicTest and measured on PublicTest"):
        export_model(model_copy, ExportConfig(format="onnx", quantize="static", calibration_split="PublicTest"),
                     _tiny_dataset())
    assert sorted(path.name for path in model_copy.parent.iterdir()) == ["tiny.json", "tiny.keras"]
