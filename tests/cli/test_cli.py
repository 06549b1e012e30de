"""python -m fer_core: each command's output, and exit code 2 with one line for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, needs_tensorflow, png_claiming

from fer_core.cli import main


def test_predict_json_has_faces_with_box_label_probabilities(tiny_model_path, astronaut_jpeg, capsys):
    assert main(["predict", str(astronaut_jpeg), "--model", str(tiny_model_path), "--json"]) == 0
    faces = json.loads(capsys.readouterr().out)["faces"]
    assert len(faces) == 1 and len(faces[0]["box"]) == 4
    assert faces[0]["label"] in faces[0]["probabilities"]


def test_predict_without_a_face_says_so(tiny_model_path, cat_png, capsys):
    assert main(["predict", str(cat_png), "--model", str(tiny_model_path)]) == 0
    assert "no face found" in capsys.readouterr().out


def test_evaluate_json_has_the_documented_keys(tiny_model_path, tiny_csv, capsys):
    assert main(["evaluate", "--model", str(tiny_model_path), "--data", str(tiny_csv), "--split",
                 "PublicTest", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"accuracy", "loss", "n", "per_class", "confusion_matrix", "macro_f1"} <= set(result)
    assert result["n"] == 11 and len(result["confusion_matrix"]) == 7


def test_evaluate_without_split_uses_every_row(tiny_model_path, tiny_csv, capsys):
    assert main(["evaluate", "--model", str(tiny_model_path), "--data", str(tiny_csv), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 42


@needs_tensorflow
def test_export_int8_needs_data_then_prints_both_engines_accuracy(tiny_model_path, tiny_csv, tmp_path, capsys):
    import shutil

    from fer_core.artifacts.cards import card_path

    model = tmp_path / "tiny.keras"
    shutil.copy(tiny_model_path, model)
    shutil.copy(card_path(tiny_model_path), card_path(model))
    assert main(["export", "--model", str(model), "--quantize", "dynamic"]) == 2
    assert "--data" in capsys.readouterr().err and not model.with_suffix(".tflite").exists()
    assert main(["export", "--model", str(model), "--quantize", "dynamic", "--data", str(tiny_csv)]) == 0
    out = capsys.readouterr().out
    assert "int8 weights" in out and "PublicTest accuracy: Keras" in out and "LiteRT" in out
    for engine in ("auto", "keras"):
        assert main(["evaluate", "--model", str(model), "--data", str(tiny_csv), "--split", "PublicTest",
                     "--engine", engine, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["n"] == 11
    assert main(["info", str(model)]) == 0
    litert = json.loads(capsys.readouterr().out)["litert"]
    assert litert["quantization"] == "dynamic" and litert["up_to_date"] and litert["accuracy"]["n"] == 11


def test_train_then_info(tiny_csv, tmp_path, capsys):
    out = tmp_path / "cli.keras"
    assert main(["train", "--data", str(tiny_csv), "--arch", "tiny_cnn", "--epochs", "1", "--batch-size", "8",
                 "--out", str(out), "--run-dir", str(tmp_path / "run")]) == 0
    assert out.exists() and out.with_suffix(".json").exists()
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["architecture"] == "tiny_cnn" and described["litert"] is None  # not exported yet
    assert main(["info", str(tiny_csv)]) == 0
    assert json.loads(capsys.readouterr().out)["splits"] == {"PublicTest": 11, "Training": 31}



def test_train_with_ema_prints_the_raw_weights_score_beside_the_averaged_one(tiny_csv, tmp_path, capsys):
    out = tmp_path / "ema.keras"
    assert main(["train", "--data", str(tiny_csv), "--arch", "tiny_cnn", "--epochs", "2", "--batch-size", "8",
                 "--ema", "0.99", "--out", str(out), "--run-dir", str(tmp_path / "run")]) == 0
    printed = capsys.readouterr().err
    assert printed.count("(raw weights ") == 2, printed
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["config"]["ema"] == 0.99 and len(card["history"]["val_accuracy_raw"]) == 2

def test_finalize_writes_the_best_epoch_of_an_unfinished_run(tiny_csv, tmp_path, capsys):
    common = ["train", "--data", str(tiny_csv), "--arch", "tiny_cnn", "--batch-size", "8",
              "--run-dir", str(tmp_path / "run")]
    assert main([*common, "--epochs", "2", "--out", str(tmp_path / "a.keras")]) == 0
    assert main([*common, "--epochs", "5", "--out", str(tmp_path / "b.keras"), "--finalize"]) == 0
    card = json.loads((tmp_path / "b.json").read_text())
    assert card["training"]["epochs_run"] == 2 and card["training"]["stopped_by_request"]


@pytest.mark.parametrize("args, message", [
    (["predict", "{tmp}/missing.jpg", "--model", "{model}"], "no such image file"),
    (["predict", "{tmp}/text.jpg", "--model", "{model}"], "not an image"),
    (["predict", "{tmp}/text.jpg", "--model", "{tmp}/text.jpg"], "not a Keras .keras model file"),
    (["evaluate", "--model", "{model}", "--data", "{tmp}/text.jpg"], "line 1: expected a header"),
    (["evaluate", "--model", "{model}", "--data", "{tmp}/missing.csv"], "no such file"),
    (["train", "--data", "{tmp}/missing.csv", "--out", "{tmp}/m.keras"], "no such file"),
    (["export", "--model", "{tmp}/text.jpg"], "not a Keras .keras model file"),
    (["train", "--data", "{tmp}/text.jpg", "--out", "{tmp}/m.keras", "--arch", "nope"], "arch 'nope' is unknown"),
    (["predict", "{tmp}/bomb.png", "--model", "{model}"], "over the limit of 40,000,000 pixels"),
    (["predict", "{tmp}/cut.png", "--model", "{model}"], "damaged or truncated"),
    (["predict", "{tmp}/face.png", "--model", "{tmp}/model.pkl"], "pickle file; pickles run code"),
    (["predict", "{tmp}/face.png", "--model", "{tmp}/cut.keras"], "not a Keras .keras model file"),
    (["predict", "{tmp}/face.png", "--model", "{tmp}/stale.keras"], "the card belongs to another model"),
    (["evaluate", "--model", "{model}", "--data", "{tmp}/cut.csv.gz"], "cut short"),
    (["evaluate", "--model", "{model}", "--data", "{tmp}/label7.csv"], "line 2"),
    (["evaluate", "--model", "{model}", "--data", "{tmp}/empty.csv"], "empty"),
    (["evaluate", "--model", "{model}", "--data", "{tmp}/plain.csv.gz"], "gzip"),
    (["predict", "{tmp}/empty.jpg", "--model", "{model}"], "the file is empty (0 bytes)"),
    (["predict", "{tmp}/text.pdf", "--model", "{model}"], "supported: jpg"),
])
def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path, tiny_litert_model_path, args, message):
    _write_bad_inputs(tmp_path, tiny_litert_model_path)
    argv = [a.format(tmp=tmp_path, model=tiny_litert_model_path) for a in args]
    run = subprocess.run([sys.executable, "-m", "fer_core", *argv], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("photo, extra, message", [
    ("missing.jpg", [], "missing.jpg: no such image file"),
    ("missing.mp4", [], "missing.mp4: no such video file"),
    ("face.png", ["--csv", "faces.csv"], "--csv is for a folder, a .zip of photos or a video"),
    ("face.png", ["--explain", "why.jpg"], "--explain writes a .png file"),
    ("face.png", ["--explain-class", "smug"], "unknown class 'smug'"),
])
def test_predict_refuses_what_it_can_before_loading_the_model(tmp_path, monkeypatch, capsys, photo, extra, message):
    from PIL import Image

    from fer_core.inference.predictor import Predictor

    def load_refused(*args, **kwargs):
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(Predictor, "load", load_refused)
    Image.new("RGB", (64, 64)).save(tmp_path / "face.png")
    extra = [str(tmp_path / value) if value.endswith((".csv", ".jpg")) else value for value in extra]
    assert main(["predict", str(tmp_path / photo), *extra]) == 2
    assert message in capsys.readouterr().err


def _write_bad_inputs(folder, model_path) -> None:
    """The broken files the exit-code test feeds to the CLI, one per kind of bad input."""
    import gzip
    import io
    import json
    import pickle
    import shutil

    from PIL import Image

    (folder / "text.jpg").write_text("just text")
    (folder / "text.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "empty.csv").write_bytes(b"")
    (folder / "plain.csv.gz").write_text("emotion,pixels,Usage\n")
    png = io.BytesIO()
    Image.new("L", (64, 64), 128).save(png, "PNG")
    (folder / "face.png").write_bytes(png.getvalue())
    (folder / "cut.png").write_bytes(png.getvalue()[: len(png.getvalue()) // 2])
    (folder / "bomb.png").write_bytes(png_claiming(50_000, 50_000))
    (folder / "model.pkl").write_bytes(pickle.dumps({"weights": [1, 2]}))
    model = model_path.read_bytes()
    (folder / "cut.keras").write_bytes(model[: len(model) // 2])
    shutil.copy(model_path, folder / "stale.keras")
    card = json.loads(model_path.with_suffix(".json").read_text())
    (folder / "stale.json").write_text(json.dumps({**card, "parameters": 99}))
    rows = "emotion,pixels,Usage\n" + "".join(f"3,{' '.join(['7'] * 2304)},Training\n" for _ in range(50))
    packed = gzip.compress(rows.encode())
    (folder / "cut.csv.gz").write_bytes(packed[: len(packed) // 2])
    (folder / "label7.csv").write_text(f"emotion,pixels,Usage\n7,{' '.join(['7'] * 2304)},Training\n")


def test_help_lists_every_command():
    run = subprocess.run([sys.executable, "-m", "fer_core", "--help"], capture_output=True, text=True, cwd=REPO,
                         timeout=120)
    assert run.returncode == 0
    for command in ("train", "evaluate", "predict", "info", "export"):
        assert command in run.stdout


@pytest.mark.slow  # a LiteRT conversion and two command-line runs; CI runs it
def test_export_then_predict_runs_on_litert_with_a_clean_stderr(tiny_model_path, astronaut_jpeg, tmp_path):
    pytest.importorskip("ai_edge_litert")
    import shutil

    model = tmp_path / "tiny.keras"
    shutil.copy(tiny_model_path, model)
    shutil.copy(tiny_model_path.with_suffix(".json"), model.with_suffix(".json"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    export = subprocess.run([sys.executable, "-m", "fer_core", "export", "--model", str(model)],
                            capture_output=True, text=True, cwd=REPO, env=env, timeout=180)
    assert export.returncode == 0 and export.stderr == "", export.stderr
    assert "tiny.tflite" in export.stdout and model.with_suffix(".tflite").is_file()
    check = ("import sys, json; from fer_core.cli import main; code = main(['predict', sys.argv[1], '--model', "
             "sys.argv[2], '--json']); print(json.dumps(sorted(m for m in ('tensorflow', 'ai_edge_litert') "
             "if m in sys.modules)))")
    run = subprocess.run([sys.executable, "-c", check, str(astronaut_jpeg), str(model)], capture_output=True,
                         text=True, cwd=REPO, env=env, timeout=120)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    faces_line, modules_line = run.stdout.strip().splitlines()
    assert len(json.loads(faces_line)["faces"]) == 1
    assert json.loads(modules_line) == ["ai_edge_litert"]  # prediction never imported TensorFlow


def test_resume_continues_with_the_recorded_settings_and_the_given_ones_on_top(tiny_csv, tmp_path, capsys):
    out, run = tmp_path / "r.keras", tmp_path / "run"
    assert main(["train", "--data", str(tiny_csv), "--arch", "tiny_cnn", "--epochs", "1", "--batch-size", "8",
                 "--label-smoothing", "0.1", "--augment", "no", "--out", str(out), "--run-dir", str(run)]) == 0
    capsys.readouterr()
    assert main(["train", "--data", str(tiny_csv), "--out", str(out), "--run-dir", str(run), "--resume",
                 "--epochs", "2"]) == 0  # its own model: no --overwrite needed
    assert f"continuing {run} after epoch 1 with its recorded settings, except epochs 1 -> 2" in capsys.readouterr().err
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["epochs_run"] == 2
    assert (card["config"]["arch"], card["config"]["batch_size"]) == ("tiny_cnn", 8)
    assert (card["config"]["label_smoothing"], card["config"]["augment"]) == (0.1, False)


def test_info_on_a_run_folder_says_how_far_it_got_and_how_to_continue(tiny_csv, tmp_path, capsys):
    import threading

    from fer_core.data.loading import load_dataset
    from fer_core.training.config import TrainConfig
    from fer_core.training.trainer import train

    stop = threading.Event()
    out, run = tmp_path / "half.keras", tmp_path / "runs" / "half"
    train(TrainConfig(arch="tiny_cnn", epochs=3, batch_size=8, augment=False, warmup_epochs=0), load_dataset(tiny_csv),
          [lambda p: p.stage == "batch_end" and p.epoch == 2 and stop.set()], out_path=out, run_dir=run,
          stop_event=stop)
    assert main(["info", str(run)]) == 0
    described = json.loads(capsys.readouterr().out)
    assert (described["kind"], described["epochs_done"], described["epochs"], described["finished"]) == ("run", 1, 3, False)
    assert described["out"] == str(out.resolve()) and described["best_epoch"] == 1
    assert described["continue_with"] == f"python -m fer_core train --data DATA --out {out.resolve()} --run-dir {run} --resume"
    assert main(["info", str(tmp_path / "runs")]) == 0
    assert [r["path"] for r in json.loads(capsys.readouterr().out)["unfinished"]] == [str(run)]


def test_train_leaves_the_callers_signal_handlers_as_they_were(tiny_csv, tmp_path, capsys):
    import signal

    def mine(*_):
        pass

    before = signal.signal(signal.SIGTERM, mine)
    try:
        interrupt = signal.getsignal(signal.SIGINT)
        assert main(["train", "--data", str(tiny_csv), "--arch", "tiny_cnn", "--epochs", "1", "--batch-size", "16",
                     "--augment", "no", "--out", str(tmp_path / "m.keras")]) == 0
        assert signal.getsignal(signal.SIGTERM) is mine and signal.getsignal(signal.SIGINT) is interrupt
    finally:
        signal.signal(signal.SIGTERM, before)


def test_stop_on_signals_sets_the_event_and_restores_the_handlers():
    import os
    import signal
    import threading

    from fer_core.cli.train import stop_on_signals

    stop, previous = threading.Event(), signal.getsignal(signal.SIGTERM)
    with stop_on_signals(stop):
        os.kill(os.getpid(), signal.SIGTERM)  # would end the test process without the handler
        assert stop.wait(5)
    assert signal.getsignal(signal.SIGTERM) is previous
