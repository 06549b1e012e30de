"""The Streamlit pages under AppTest, against a tiny model and dataset built by the tests."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import REPO
from streamlit.testing.v1 import AppTest

from fer_core.backend import keras_backend_name
from fer_core.labels import ADJECTIVES, EMOTIONS

TIMEOUT = 120


@pytest.fixture
def app_env(monkeypatch, tmp_path, tiny_model_path, tiny_csv):
    """A models folder holding the tiny model as the default, and the tiny CSV as the only dataset."""
    import ui.resources

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(tiny_model_path, models / "default.keras")
    shutil.copy(tiny_model_path.with_suffix(".json"), models / "default.json")
    monkeypatch.setenv("FER_MODELS_DIR", str(models))
    monkeypatch.setenv("FER_DATA", str(tiny_csv))
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(ui.resources, "REPO_ROOT", tmp_path)  # no data/ or ../shared/data beside it
    return models


def page(name: str) -> AppTest:
    return AppTest.from_file(str(REPO / "app_pages" / f"{name}.py"), default_timeout=TIMEOUT)


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [s.value for s in at.subheader])


def test_predict_page_invites_a_photo_then_labels_the_example(app_env):
    at = page("predict").run()
    assert not at.exception
    assert "Upload a photo or take a selfie" in at.info[0].value
    assert "default" in at.sidebar.selectbox[0].value.path.name
    at.button(key="predict_example").click().run()
    assert not at.exception and not at.error
    shown = texts(at)
    assert "1 face" in shown
    assert any(f"**Face 1: {label}**" in shown for label in (*EMOTIONS, "uncertain"))
    assert any(f"looks **{ADJECTIVES[label]}**" in shown for label in EMOTIONS) or "uncertain" in shown
    assert "%" in shown and len(at.get("plotly_chart")) == 1


def test_predict_page_explains_with_heat_maps_on_request(app_env):
    at = page("predict").run()
    at.button(key="predict_example").click().run()
    at.toggle(key="predict_explain").set_value(True).run()
    assert not at.exception and not at.error
    assert "Heat maps (Grad-CAM): where the model found the evidence for its answer" in texts(at)
    at.selectbox(key="predict_explain_class").select("surprise").run()
    assert not at.exception and not at.error
    assert "evidence for surprise" in texts(at)


@pytest.mark.parametrize("name, content, message", [
    ("empty.jpg", b"", "the file is empty"),
    ("notes.jpg", b"just some text", "not an image this app can read"),
    ("cut.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image this app can read"),
], ids=["empty", "text", "truncated png"])
def test_predict_page_answers_a_bad_upload_with_a_specific_error(app_env, name, content, message):
    at = page("predict").run()
    at.file_uploader(key="predict_upload").set_value((name, content, "image/jpeg")).run()
    assert not at.exception
    assert message in at.error[0].value and name in at.error[0].value
    at.file_uploader(key="predict_upload").set_value(None).run()  # still usable afterwards
    at.button(key="predict_example").click().run()
    assert not at.exception and not at.error and "1 face" in texts(at)


def test_batch_page_labels_uploads_and_a_zip_with_a_table_chart_and_csv(app_env, astronaut_jpeg, cat_png):
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(astronaut_jpeg, "trip/astronaut.jpg")
        zipped.writestr("trip/broken.jpg", b"not a photo")
        zipped.writestr("trip/readme.txt", b"skipped: not an image")
    at = page("batch").run()
    assert "Upload several photos" in at.info[0].value
    at.file_uploader(key="batch_uploads").set_value([
        ("astronaut.jpg", astronaut_jpeg.read_bytes(), "image/jpeg"),
        ("cat.png", cat_png.read_bytes(), "image/png"),
        ("trip.zip", archive.getvalue(), "application/zip"),
    ]).run()
    at.button(key="batch_run").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value  # one row per face
    assert table["file"].tolist() == ["astronaut.jpg", "trip/astronaut.jpg"]
    assert set(table["label"]) <= set(EMOTIONS) and table["face"].tolist() == [1, 1]
    assert all(url.startswith("data:image/png;base64,") for url in table["face crop"])  # thumbnails
    assert not table[["face", "label", "confidence", *EMOTIONS]].isna().any().any()  # no empty cells
    assert [m.value for m in at.metric] == ["4", "2", "1", "1"]  # photos, faces, without a face, unreadable
    assert [e.label for e in at.expander] == ["No face found in 1 photo", "Could not read 1 photo"]
    assert "`cat.png`" in texts(at) and "trip/broken.jpg" in texts(at)
    assert len(at.get("plotly_chart")) == 1 and len(at.get("download_button")) == 1
    at.file_uploader(key="batch_uploads").set_value([("cat.png", cat_png.read_bytes(), "image/png")]).run()
    assert not at.dataframe and not at.metric  # the previous batch's results are gone with its files
    assert at.button(key="batch_run").label == "Label 1 upload"


def test_predict_page_without_models_explains(monkeypatch, tmp_path):
    monkeypatch.setenv("FER_MODELS_DIR", str(tmp_path))
    at = page("predict").run()
    assert "No model found" in at.error[0].value


def test_explore_page_shows_counts_samples_means_and_quality(app_env):
    at = page("explore").run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Faces"] == "42" and metrics["Training"] == "31" and metrics["PublicTest"] == "11"
    assert len(at.get("plotly_chart")) == 2  # class counts and the histogram
    findings = at.dataframe[0].value
    assert "near-blank images" in findings["finding"].tolist()
    assert len(at.get("image")) >= 8  # 7 sample rows + the mean faces
    at.button[0].click().run()  # reshuffle
    assert not at.exception


def test_explore_page_without_data_explains_where_to_get_it(app_env, monkeypatch):
    monkeypatch.delenv("FER_DATA")
    at = page("explore").run()
    at.selectbox(key="explore_dataset").select("Type a path...").run()
    assert "No FER2013 dataset found" in texts(at)


def test_explore_page_reports_a_broken_csv(app_env, monkeypatch, tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    monkeypatch.setenv("FER_DATA", str(broken))
    at = page("explore").run()
    assert "line 2: expected 2304 pixel values, found 3" in at.error[0].value


@pytest.mark.slow  # a training run through the page, about 14 s; CI runs it
def test_train_page_runs_one_epoch_in_the_background_and_saves_the_model(app_env):
    import ui.resources

    at = page("train").run()
    assert not at.exception
    assert "tiny_cnn" not in at.selectbox(key="train_arch").options  # a test fixture, not offered
    assert at.text_input(key="train_owner").value == ""  # not prefilled with the OS user
    at.selectbox(key="train_arch").select("seed_cnn")
    at.number_input(key="train_epochs").set_value(1)
    at.text_input(key="train_name").set_value("app_trained")
    at.button[0].click().run()  # the form's submit button
    assert not at.error, at.error[0].value if at.error else ""
    job = ui.resources.get_job_manager().current
    assert job is not None and job.owner == "someone"
    assert job.wait(TIMEOUT)
    assert job.status == "finished", job.error
    assert (app_env / "app_trained.keras").exists() and (app_env / "app_trained.json").exists()
    at.run()
    assert any("Saved app_trained.keras" in s.value for s in at.success)


def test_train_page_fills_in_a_network_of_the_shipped_model_with_what_it_costs(app_env):
    shutil.copy(REPO / "models" / "default.json", app_env / "default.json")  # the shipped model's card
    at = page("train").run()
    assert at.selectbox(key="train_preset").value == "own" and at.number_input(key="train_epochs").value == 10
    at.selectbox(key="train_preset").select("1").run()  # network 2 of 3
    assert not at.exception
    assert at.selectbox(key="train_arch").value == "vgg_fer" and at.number_input(key="train_epochs").value == 155
    assert at.number_input(key="train_seed").value == 44 and at.selectbox(key="train_mixing").value.startswith("MixUp")
    assert at.toggle(key="train_bf16").value and at.toggle(key="train_ema").value and at.toggle(key="train_single").value
    assert at.text_input(key="train_name").value == "shipped_net_2"
    info = at.info[0].value
    assert "155 epochs" in info and "10 minutes on 1x NVIDIA H200" in info and "hours on two cores" in info
    assert "--seed 44" in at.code[0].value and "fer_core ensemble" in at.code[1].value
    assert ("JAX" in info) == (keras_backend_name() == "jax")
    at.selectbox(key="train_preset").select("own").run()
    assert at.selectbox(key="train_arch").value == "vgg_fer_s" and at.number_input(key="train_seed").value == 42
    assert not at.info


def test_under_jax_the_shipped_networks_cpu_time_says_it_is_slower(app_env, monkeypatch):
    """Where Keras computes with JAX (Python 3.14), the CPU time quoted for TensorFlow is flagged."""
    shutil.copy(REPO / "models" / "default.json", app_env / "default.json")
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    at = page("train").run()
    at.selectbox(key="train_preset").select("2").run()  # network 3 of 3, a vgg_fer_s
    assert not at.exception
    assert "under TensorFlow; Keras computes with JAX here, which trains about 2.5 times slower" in at.info[0].value


@pytest.mark.slow  # a whole training run through the page or the job manager; CI runs it
def test_train_page_continues_a_stopped_run_to_its_last_epoch(app_env, tiny_csv, tmp_path):
    import threading

    import ui.resources
    from fer_core.data.loading import load_dataset
    from fer_core.training.config import TrainConfig
    from fer_core.training.trainer import train

    stop = threading.Event()
    train(TrainConfig(arch="tiny_cnn", epochs=2, batch_size=8, augment=False, warmup_epochs=0), load_dataset(tiny_csv),
          [lambda p: p.stage == "batch_end" and p.epoch == 2 and stop.set()], out_path=app_env / "halfway.keras",
          run_dir=tmp_path / "runs" / "halfway", stop_event=stop)  # where the page keeps its runs
    at = page("train").run()
    assert any("halfway" in m.value and "epoch 1 of 2" in m.value for m in at.markdown)
    at.button(key="resume_halfway").click().run()
    assert not at.error, at.error[0].value
    job = ui.resources.get_job_manager().current
    assert job.wait(TIMEOUT)
    assert job.status == "finished", job.error
    card = json.loads((app_env / "halfway.json").read_text())
    assert card["training"]["epochs_run"] == 2 and not card["training"]["stopped_by_request"]
    at.run()
    assert not any("halfway" in m.value for m in at.markdown)  # finished: no longer offered


def test_evaluate_page_shows_metrics_table_and_confusion_matrix(app_env):
    at = page("evaluate").run()
    assert not at.exception and not at.error
    labels = [m.label for m in at.metric]
    assert labels == ["Accuracy", "Log-loss", "Balanced F1", "Error, raw", "Error, as shown", "Temperature"]
    assert at.metric[0].value.endswith("%")
    table = at.dataframe[0].value
    assert table["expression"].tolist() == list(EMOTIONS) and {"precision", "recall", "f1"} <= set(table.columns)
    assert len(at.get("plotly_chart")) == 2  # confusion matrix, reliability diagram


def test_evaluate_page_without_data_shows_the_model_card_metrics(app_env, monkeypatch):
    monkeypatch.delenv("FER_DATA")
    at = page("evaluate").run()
    at.selectbox(key="evaluate_dataset").select("Type a path...").run()
    assert any("stored PublicTest metrics from its model card" in s.value for s in at.subheader)
    assert [m.label for m in at.metric][:3] == ["Accuracy", "Log-loss", "Balanced F1"]
    assert "Error, as shown" in [m.label for m in at.metric]


def test_entry_point_builds_the_navigation():
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception


@pytest.mark.slow  # a whole training run through the page or the job manager; CI runs it
def test_train_page_passes_the_regularisation_settings_to_the_run(app_env):
    import ui.resources

    at = page("train").run()
    at.selectbox(key="train_arch").select("seed_cnn")
    at.number_input(key="train_epochs").set_value(1)
    at.text_input(key="train_name").set_value("app_regularised")
    at.selectbox(key="train_mixing").select("CutMix (alpha 1.0)")
    at.slider(key="train_erasing").set_value(0.25)
    at.toggle(key="train_single").set_value(True)
    at.toggle(key="train_ema").set_value(True)
    at.button[0].click().run()
    assert not at.error, at.error[0].value if at.error else ""
    job = ui.resources.get_job_manager().current
    assert job.wait(TIMEOUT)
    assert job.status == "finished", job.error
    card = json.loads((app_env / "app_regularised.json").read_text())
    assert card["config"]["cutmix"] == 1.0 and card["config"]["mixup"] == 0.0
    assert card["config"]["erasing"] == 0.25 and card["config"]["resampling"] == "single"
    assert card["config"]["ema"] == 0.999


def test_learning_curves_show_the_raw_weights_score_of_an_ema_run():
    from ui.charts import learning_curves

    figure = learning_curves({"loss": [1.2, 0.9], "val_accuracy": [0.50, 0.61], "val_accuracy_raw": [0.47, 0.58]})
    assert [trace.name for trace in figure.data] == ["training", "validation", "validation, last step's weights"]
    assert list(figure.data[2].y) == [0.47, 0.58] and figure.data[2].yaxis == "y2"


def test_each_expression_has_one_colour_on_the_batch_chart_and_the_video_timeline():
    from ui.charts import EXPRESSION_COLOURS, NOT_AN_EXPRESSION, emotion_timeline, expression_summary

    assert list(EXPRESSION_COLOURS) == list(EMOTIONS) and len(set(EXPRESSION_COLOURS.values())) == len(EMOTIONS)
    counts = expression_summary({**{name: 1 for name in EMOTIONS}, "no face": 2})
    assert list(counts.data[0].marker.color) == [*EXPRESSION_COLOURS.values(), NOT_AN_EXPRESSION]
    record = {"time_s": 0.0, **{name: 1 / 7 for name in EMOTIONS}}
    timeline = emotion_timeline([record, {**record, "time_s": 0.5}])
    assert {trace.name: trace.line.color for trace in timeline.data} == EXPRESSION_COLOURS


@pytest.mark.slow  # a whole training run through the page or the job manager; CI runs it
def test_training_after_the_other_pages_ran_in_the_same_process(app_env, astronaut_jpeg, cat_png):
    """Predict, Show why, Batch and Explore, then a training run from the Train page: no layer-name
    clash or other state left over from the pages (training runs in a process of its own)."""
    import ui.resources

    at = page("predict").run()
    at.button(key="predict_example").click().run()
    at.toggle(key="predict_explain").set_value(True).run()
    assert not at.exception and not at.error
    at = page("batch").run()
    at.file_uploader(key="batch_uploads").set_value([("a.jpg", astronaut_jpeg.read_bytes(), "image/jpeg"),
                                                     ("c.png", cat_png.read_bytes(), "image/png")]).run()
    at.button(key="batch_run").click().run()
    assert not at.exception and not at.error
    assert not page("explore").run().exception
    at = page("train").run()
    at.selectbox(key="train_arch").select("vgg_fer_s")
    at.number_input(key="train_epochs").set_value(1)
    at.text_input(key="train_name").set_value("after_pages")
    at.button[0].click().run()
    job = ui.resources.get_job_manager().current
    assert job.wait(TIMEOUT)
    assert job.status == "finished", job.error
    assert (app_env / "after_pages.keras").exists()


def live_video_mode() -> AppTest:
    at = page("live").run()
    at.get("button_group")[0].set_value("Video file").run()
    return at


def test_live_page_runs_the_camera_in_the_browser_and_says_nothing_is_uploaded(app_env):
    at = page("live").run()
    assert not at.exception and not at.error
    assert "frames never leave this computer" in texts(at)
    manifest = json.loads((REPO / "static" / "live" / "models" / "live.json").read_text())
    share = f"{manifest['expression']['accuracy']['onnx (flip TTA)']:.1%} on PublicTest"
    assert share in texts(at)  # the browser's network and its measured accuracy are named


def test_live_page_reads_a_snapshot_on_the_server(app_env, astronaut_jpeg, monkeypatch):
    import base64

    import ui.live_camera

    still = "data:image/jpeg;base64," + base64.b64encode(astronaut_jpeg.read_bytes()).decode()
    monkeypatch.setattr(ui.live_camera, "live_camera", lambda key: type("Result", (), {"snapshot": still})())
    at = page("live").run()
    assert not at.exception and not at.error
    assert "Snapshot" in [s.value for s in at.subheader] and "1 face" in [s.value for s in at.subheader]


def test_live_page_labels_a_video_file_with_a_timeline_table_and_csv(app_env, tmp_path):
    from conftest import write_clip

    clip = tmp_path / "clip.mp4"
    write_clip(clip)
    at = live_video_mode()
    assert "Upload a video" in at.info[0].value
    at.file_uploader(key="video_upload").set_value(("holiday.mp4", clip.read_bytes(), "video/mp4")).run()
    assert "holiday.mp4: 4.0 s, 640x360" in texts(at)
    at.button(key="video_run").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert sorted(set(table["face_id"])) == [1, 2] and len(set(table["time_s"])) == 20
    assert [s.value.split(":")[0] for s in at.subheader] == ["Face 1", "Face 2"]
    assert "In view from 2.0 s" in texts(at)
    assert len(at.get("plotly_chart")) == 2


def test_live_page_answers_a_file_that_is_not_a_video_in_one_line(app_env):
    at = live_video_mode()
    at.file_uploader(key="video_upload").set_value(("broken.mp4", b"\x00not a video" * 50, "video/mp4")).run()
    assert not at.exception and len(at.error) == 1
    message = at.error[0].value
    assert message.startswith("broken.mp4: not a video") and "uploads" not in message
