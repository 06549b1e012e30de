"""Hostile input: decompression bombs, files that are not datasets, zip bombs, full disks, damaged
exports, formula injection, costly batches and runs that must not be lost. Every refusal is one
short line, in the CLI (exit 2) and in the app, with memory bounded."""

from __future__ import annotations

import errno
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, csv_text, needs_tensorflow, synthetic_faces

from fer_core.data.loading import load_dataset
from fer_core.errors import DatasetError, ModelError, TrainingError
from fer_core.limits import Limits

MAX_MESSAGE = 400
MEMORY_LIMIT_MB = 1500


def cli(*args: str, cwd=None) -> tuple[subprocess.CompletedProcess, float]:
    """``python -m fer_core ARGS`` in a child process: the result and the child's peak memory (MB)."""
    # VmHWM is the peak of this process image (getrusage's ru_maxrss would keep the forking parent's)
    code = ("import runpy, sys\n"
            "sys.argv = ['fer_core', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('fer_core', run_name='__main__')\n"
            "finally:\n"
            "    peak = next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]\n"
            "    print('PEAK_MB', int(peak) / 1024, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd or REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"})
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    peak = float(next(line.split()[1] for line in lines if line.startswith("PEAK_MB")))
    done.stderr = "\n".join(line for line in lines if not line.startswith("PEAK_MB"))
    return done, peak


def assert_one_short_line(done: subprocess.CompletedProcess, *expected: str) -> None:
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and len(lines[0]) <= MAX_MESSAGE and "Traceback" not in done.stderr, done.stderr[-2000:]
    for text in expected:
        assert text in lines[0], lines[0]


# ------------------------------------------------------------------ datasets

def test_a_gzip_bomb_is_refused_at_the_decompressed_byte_limit(tmp_path):
    images, labels = synthetic_faces(n_per_class=40)
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wt") as out:  # 280 valid rows, 2.6 MB decompressed
        out.write(csv_text(images, labels))
    with pytest.raises(DatasetError, match=r"more than 1 MB once decompressed \(the limit on a dataset"):
        load_dataset(bomb, limits=Limits(max_dataset_bytes=1_000_000), use_cache=False)


@pytest.mark.parametrize("what", ["sparse 1 GB file", "gzip of 1 GB of zeros"])
def test_a_huge_line_is_refused_at_once_with_memory_bounded(tmp_path, what):
    path = tmp_path / ("zeros.csv" if what.startswith("sparse") else "zeros.csv.gz")
    if what.startswith("sparse"):
        with open(path, "wb") as out:
            out.truncate(1 << 30)
    else:
        with gzip.open(path, "wb", compresslevel=1) as out:
            block = b"\x00" * (1 << 24)
            for _ in range(64):
                out.write(block)
    done, peak = cli("info", str(path))
    assert_one_short_line(done, "line 1")
    assert peak < MEMORY_LIMIT_MB


def test_a_field_over_128_kb_is_a_clear_error_not_a_csv_traceback(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("emotion,pixels,Usage\n3," + "1" * 200_000 + ",Training\n")
    done, _ = cli("info", str(path))
    assert_one_short_line(done, "line 2: longer than 65,536 bytes")


def test_a_first_line_of_five_million_fields_gives_a_short_message(tmp_path):
    path = tmp_path / "fields.csv"
    path.write_text("a," * 5_000_000 + "\n")
    done, _ = cli("info", str(path))
    assert_one_short_line(done, "line 1")


@pytest.mark.parametrize("first_line", ["root:x:0:0:root:/root:/bin/bash", "API_KEY=sk-live-123456789,secret"])
def test_a_file_that_is_not_a_dataset_never_has_its_content_quoted(tmp_path, first_line):
    path = tmp_path / "passwd"
    path.write_text(first_line + "\nmore: private\n")
    with pytest.raises(DatasetError) as raised:
        load_dataset(path, use_cache=False)
    message = str(raised.value)
    assert "not a FER2013 CSV" in message and "root:x" not in message and "sk-live" not in message
    assert "private" not in message


def test_every_error_message_is_one_line_of_a_few_hundred_characters():
    long_name = "x" * 10_000
    message = str(DatasetError(f"{long_name}.csv, line 2:\nexpected\n2304 values"))
    assert "\n" not in message and len(message) <= MAX_MESSAGE and message.endswith("...")


def test_a_hosted_app_accepts_typed_paths_only_inside_the_dataset_folders(monkeypatch, tmp_path):
    from fer_core.data.loading import dataset_folders, is_inside

    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("FER_DATA", str(data / "fer2013.csv"))
    folders = dataset_folders(tmp_path / "repo")
    assert is_inside(data / "fer2013.csv", folders)
    assert not is_inside(Path("/etc/passwd"), folders)
    assert not is_inside(data / ".." / "elsewhere.csv", folders)


def test_the_explore_page_on_a_shared_server_refuses_a_typed_path_outside_the_dataset_folders(monkeypatch,
                                                                                            tmp_path, tiny_csv):
    from streamlit.testing.v1 import AppTest

    import ui.resources

    monkeypatch.setattr(ui.resources, "REPO_ROOT", tmp_path)
    monkeypatch.setenv("FER_DATA", str(tiny_csv))
    monkeypatch.setenv("FER_TYPED_PATHS", "datasets")  # as on a hosted server
    at = AppTest.from_file(str(REPO / "app_pages" / "explore.py"), default_timeout=120).run()
    at.selectbox(key="explore_dataset").select("Type a path...").run()
    at.text_input(key="explore_path").set_value("/etc/passwd").run()
    assert not at.exception
    assert "must lie in one of the dataset folders" in at.error[0].value and "root:" not in at.error[0].value
    secret = tmp_path / "secret.csv"
    secret.write_text("password=hunter2\n")
    monkeypatch.setenv("FER_TYPED_PATHS", "anywhere")  # the operator allows any path: still nothing quoted
    at.text_input(key="explore_path").set_value(str(secret)).run()
    assert not at.exception and "hunter2" not in at.error[0].value and "not a FER2013 CSV" in at.error[0].value


def test_the_explore_page_reports_a_bomb_in_one_line(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    import ui.resources

    wide = tmp_path / "wide.csv"
    wide.write_text("emotion,pixels,Usage\n3," + "1" * 200_000 + ",Training\n")
    monkeypatch.setattr(ui.resources, "REPO_ROOT", tmp_path)
    monkeypatch.setenv("FER_DATA", str(wide))
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))
    at = AppTest.from_file(str(REPO / "app_pages" / "explore.py"), default_timeout=120).run()
    assert not at.exception
    assert "longer than 65,536 bytes" in at.error[0].value and len(at.error[0].value) <= MAX_MESSAGE


# -------------------------------------------------------------------- models

def forged_keras(path: Path, member_size: int) -> Path:
    """A small .keras zip whose central directory claims a config.json of ``member_size`` bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")
        archive.writestr("config.json", "{}")
    data = bytearray(path.read_bytes())
    entry = data.rfind(b"PK\x01\x02")  # the last central-directory entry: config.json
    data[entry + 24:entry + 28] = struct.pack("<I", member_size)
    path.write_bytes(bytes(data))
    return path


def test_a_keras_zip_bomb_is_refused_before_keras_reads_it(tmp_path, astronaut_jpeg):
    bomb = forged_keras(tmp_path / "bomb.keras", 3_000_000_000)
    from fer_core.artifacts.keras_files import load_keras_model

    with pytest.raises(ModelError, match="unpacks to 3,000 MB .* over the 300 MB limit for a model; refused"):
        load_keras_model(bomb)
    done, peak = cli("predict", str(astronaut_jpeg), "--model", str(bomb))
    assert_one_short_line(done, "over the 300 MB limit")
    assert peak < MEMORY_LIMIT_MB


def test_the_app_lists_a_zip_bomb_model_without_loading_it_and_refuses_it_clearly(monkeypatch, tmp_path,
                                                                                tiny_model_path):
    from streamlit.testing.v1 import AppTest

    models = tmp_path / "models"
    models.mkdir()
    forged_keras(models / "default.keras", 3_000_000_000)
    monkeypatch.setenv("FER_MODELS_DIR", str(models))
    at = AppTest.from_file(str(REPO / "app_pages" / "predict.py"), default_timeout=120).run()
    assert not at.exception and "over the 300 MB limit" in at.error[0].value


def exported(tiny_model_path: Path, tmp_path: Path) -> Path:
    """A copy of the tiny model with its float32 LiteRT export."""
    from fer_core.recipes.export import export_model

    model = tmp_path / "m.keras"
    shutil.copy(tiny_model_path, model)
    shutil.copy(tiny_model_path.with_suffix(".json"), model.with_suffix(".json"))
    export_model(model)
    return model


@needs_tensorflow
@pytest.mark.parametrize("damage", ["100 random bytes mid-file", pytest.param("truncated", marks=pytest.mark.slow)])
def test_a_damaged_litert_export_is_never_run_and_keras_takes_over_with_a_warning(tiny_model_path, tmp_path,
                                                                               astronaut_jpeg, damage):
    from fer_core.inference.predictor import Predictor

    model = exported(tiny_model_path, tmp_path)
    lite = model.with_suffix(".tflite")
    assert json.loads(model.with_suffix(".json").read_text())["litert"]["tflite_sha256"]
    assert Predictor.load(model).engine_name == "litert"
    data = bytearray(lite.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2: len(data) // 2 + 100] = np.random.default_rng(0).integers(0, 256, 100, np.uint8).tobytes()
    lite.write_bytes(bytes(data))
    predictor = Predictor.load(model)
    assert predictor.engine_name == "keras" and "does not match the SHA-256 recorded at export" in predictor.warning
    assert len(predictor.predict(astronaut_jpeg)) == 1
    done, _ = cli("predict", str(astronaut_jpeg), "--model", str(model), "--json")
    assert done.returncode == 0 and "warning:" in done.stderr and json.loads(done.stdout)["faces"]


# ------------------------------------------------------------------- training

def test_training_into_a_full_disk_is_one_line_naming_the_folder(tmp_path, tiny_csv, monkeypatch):
    from fer_core.training.config import TrainConfig
    from fer_core.training.runs import RunFolder
    from fer_core.training.trainer import train

    real_write = Path.write_text

    def full(self, *args, **kwargs):
        if self.name == "training.lock":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(TrainingError, match=r"cannot write to the run folder \(No space left on device\)"):
        train(TrainConfig(arch="tiny_cnn", epochs=1, augment=False), load_dataset(tiny_csv),
              out_path=tmp_path / "m.keras", run_dir=tmp_path / "run")
    assert not RunFolder(tmp_path / "run").lock_file.exists()


def test_an_existing_output_is_refused_before_the_data_is_read_and_no_run_folder_is_left(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "default.keras").write_bytes(b"a good model")
    done, _ = cli("train", "--data", str(tmp_path / "not-read.csv"), "--out", "models/default.keras",
                  cwd=tmp_path)
    assert_one_short_line(done, "a model with this name exists", "--overwrite")
    assert not (tmp_path / "runs").exists() and (tmp_path / "models" / "default.keras").read_bytes() == b"a good model"


def test_a_fresh_run_never_deletes_an_unfinished_run_of_the_same_name(tmp_path, tiny_csv):
    import threading

    from fer_core.training.config import TrainConfig
    from fer_core.training.trainer import train

    data, stop = load_dataset(tiny_csv), threading.Event()
    config = TrainConfig(arch="tiny_cnn", epochs=3, batch_size=8, augment=False, warmup_epochs=0)
    train(config, data, [lambda p: p.stage == "epoch_end" and stop.set()], out_path=tmp_path / "a.keras",
          run_dir=tmp_path / "run", stop_event=stop)  # stopped after epoch 1 of 3
    (tmp_path / "a.keras").unlink()  # even with its model gone, the checkpoints are kept
    kept = sorted(p.name for p in (tmp_path / "run").iterdir())
    with pytest.raises(TrainingError, match="holds an unfinished run .*epoch 1 of 3.*--resume.*--overwrite"):
        train(config, data, out_path=tmp_path / "a.keras", run_dir=tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == kept
    result = train(config, data, out_path=tmp_path / "a.keras", run_dir=tmp_path / "run", resume=True)
    assert result.card["training"]["epochs_run"] == 3


def test_the_train_page_refuses_a_name_held_by_an_unfinished_run(monkeypatch, tmp_path, tiny_csv,
                                                                tiny_model_path):
    import threading

    from streamlit.testing.v1 import AppTest

    import ui.resources
    from fer_core.training.config import TrainConfig
    from fer_core.training.trainer import train

    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setenv("FER_MODELS_DIR", str(models))
    monkeypatch.setenv("FER_DATA", str(tiny_csv))
    monkeypatch.setattr(ui.resources, "REPO_ROOT", tmp_path)
    stop = threading.Event()
    train(TrainConfig(arch="tiny_cnn", epochs=3, batch_size=8, augment=False, warmup_epochs=0), load_dataset(tiny_csv),
          [lambda p: p.stage == "epoch_end" and stop.set()], out_path=models / "mine.keras",
          run_dir=tmp_path / "runs" / "mine", stop_event=stop)
    (models / "mine.keras").unlink()
    at = AppTest.from_file(str(REPO / "app_pages" / "train.py"), default_timeout=120).run()
    at.text_input(key="train_name").set_value("mine")
    at.button[0].click().run()
    assert not at.exception
    assert "an unfinished run is called mine" in at.error[0].value
    assert (tmp_path / "runs" / "mine" / "state.json").exists()


# ---------------------------------------------------------------------- batch

def test_a_batch_csv_neutralises_cells_a_spreadsheet_would_run(tmp_path, tiny_litert_model_path, astronaut_jpeg):
    import csv

    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(astronaut_jpeg, "=cmd|' /C calc'!A0.jpg")
        zipped.writestr("+SUM(A1).jpg", b"not a photo")
    out = tmp_path / "faces.csv"
    done, _ = cli("predict", str(archive), "--csv", str(out), "--model", str(tiny_litert_model_path))
    assert done.returncode == 0, done.stderr
    files = [row["file"] for row in csv.DictReader(out.open())]
    assert files == ["'=cmd|' /C calc'!A0.jpg", "'+SUM(A1).jpg"]


def test_a_batch_of_cheap_huge_photos_stops_at_its_pixel_budget(tmp_path, tiny_model_path):
    import io

    from PIL import Image

    from fer_core.inference.batch import label_photos
    from fer_core.inference.predictor import Predictor, PredictorConfig

    buffer = io.BytesIO()
    Image.new("L", (2000, 2000), 128).save(buffer, "PNG")  # 4 MP in a few kilobytes
    photos = [(f"flat{i}.png", buffer.getvalue()) for i in range(5)]
    predictor = Predictor.load(tiny_model_path, PredictorConfig(limits=Limits(max_batch_pixels=10_000_000)))
    rows = list(label_photos(predictor, photos))
    assert [row.error.startswith("not labelled") for row in rows] == [False, False, True, True, True]
    assert "limit of 10,000,000 pixels" in rows[-1].error


def test_the_app_batch_has_a_pixel_and_a_time_budget():
    from fer_core.limits import APP_LIMITS, DEFAULT_LIMITS

    assert APP_LIMITS.max_batch_pixels < DEFAULT_LIMITS.max_batch_pixels and APP_LIMITS.max_batch_seconds > 0


def test_limits_are_printed_in_the_units_the_readme_states(tmp_path):
    from fer_core.data.photos import load_rgb
    from fer_core.errors import ImageError

    with pytest.raises(ImageError, match=r"25.1 MB is over the 25 MB limit for one photo"):
        load_rgb(b"\xff" * 25_100_000)


@needs_tensorflow
def test_the_app_warns_in_the_sidebar_when_a_damaged_export_makes_it_fall_back(monkeypatch, tmp_path,
                                                                             tiny_model_path):
    from streamlit.testing.v1 import AppTest

    model = exported(tiny_model_path, tmp_path)
    lite = model.with_suffix(".tflite")
    lite.write_bytes(lite.read_bytes()[:-100] + b"\x00" * 100)
    model.rename(tmp_path / "default.keras")
    model.with_suffix(".json").rename(tmp_path / "default.json")
    lite.rename(tmp_path / "default.tflite")
    monkeypatch.setenv("FER_MODELS_DIR", str(tmp_path))
    at = AppTest.from_file(str(REPO / "app_pages" / "predict.py"), default_timeout=120).run()
    at.button(key="predict_example").click().run()
    assert not at.exception and not at.error
    assert "does not match the SHA-256 recorded at export" in at.sidebar.warning[0].value
    assert any("Face 1:" in m.value for m in at.markdown)  # predictions go on, with Keras


def test_the_app_predicts_with_the_hosted_limits(tiny_model_path):
    import ui.resources
    from fer_core.limits import APP_LIMITS

    predictor = ui.resources.get_predictor(str(tiny_model_path), tiny_model_path.stat().st_mtime)
    assert predictor.config.limits == APP_LIMITS


def test_a_batch_past_its_time_budget_labels_no_more_photos(tiny_model_path, astronaut_jpeg):
    import time

    from fer_core.inference.batch import label_photos
    from fer_core.inference.predictor import Predictor, PredictorConfig

    predictor = Predictor.load(tiny_model_path, PredictorConfig(limits=Limits(max_batch_seconds=0.5)))
    photos = ((f"p{i}.jpg", astronaut_jpeg.read_bytes()) for i in range(4))
    rows = list(label_photos(predictor, photos, on_photo=lambda done, name: done == 2 and time.sleep(0.6)))
    assert [row.label != "unreadable" for row in rows] == [True, True, False, False]
    assert rows[-1].error.startswith("not labelled: the batch reached its time limit")


def test_the_cli_batch_pixel_budget_is_a_flag(tmp_path, tiny_litert_model_path, astronaut_jpeg):
    import csv

    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(3):
        shutil.copy(astronaut_jpeg, folder / f"p{index}.jpg")  # 512 x 512 = 262,144 pixels each
    out = tmp_path / "faces.csv"
    done, _ = cli("predict", str(folder), "--csv", str(out), "--model", str(tiny_litert_model_path),
                  "--max-batch-pixels", "600000")
    assert done.returncode == 0, done.stderr
    errors = [row["error"] for row in csv.DictReader(out.open())]
    assert errors[:2] == ["", ""] and errors[2].startswith("not labelled: the batch reached its limit of 600,000")
