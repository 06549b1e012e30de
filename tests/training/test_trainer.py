"""fer_core.training.trainer: training, progress events, checkpoints, resume, stop, and safe saving."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest
from conftest import synthetic_faces

from fer_core.artifacts.keras_files import load_keras_model
from fer_core.data.dataset import Dataset
from fer_core.errors import TrainingError
from fer_core.metrics.probabilities import predict_probabilities
from fer_core.training.config import TrainConfig
from fer_core.training.inputs import class_weights, split_train_val, training_targets
from fer_core.training.optimizer import learning_rate_at
from fer_core.training.trainer import train

FAST = dict(arch="tiny_cnn", batch_size=16, augment=False, warmup_epochs=0, learning_rate=0.01)


@pytest.fixture(scope="module")
def data():
    images, labels = synthetic_faces(n_per_class=12)
    splits = np.where(np.arange(len(labels)) % 4 == 0, "PublicTest", "Training")
    return Dataset(images, labels, splits, "synthetic.csv", "sha256:synthetic")


def test_training_learns_the_synthetic_task_and_writes_model_and_card(data, tmp_path):
    events = []
    config = TrainConfig(epochs=12, **FAST)
    result = train(config, data, [events.append], out_path=tmp_path / "m.keras", run_dir=tmp_path / "run")
    card = json.loads((tmp_path / "m.json").read_text())
    assert card["metrics"]["PublicTest"]["accuracy"] > 0.5  # chance is 1/7
    assert card["config"]["arch"] == "tiny_cnn" and card["data"]["fingerprint"] == "sha256:synthetic"
    assert len(card["history"]["val_accuracy"]) == 12
    assert {"Training", "PublicTest", "PublicTest (flip TTA)"} <= set(card["metrics"])
    assert card["metrics"]["PublicTest"]["confusion_matrix"] and card["training"]["seconds"] > 0
    stages = {e.stage for e in events}
    assert {"train_begin", "epoch_begin", "batch_end", "epoch_end", "train_end"} <= stages
    assert any(e.eta_s is not None for e in events if e.stage == "batch_end")
    load_keras_model(result.model_path)


def test_resume_continues_from_the_last_checkpoint_with_the_same_history(data, tmp_path):
    first = train(TrainConfig(epochs=2, **FAST), data, run_dir=tmp_path / "run")
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["epochs_done"] == 2
    resumed = train(TrainConfig(epochs=4, **FAST), data, run_dir=tmp_path / "run", resume=True)
    assert len(resumed.history["loss"]) == 4
    assert resumed.history["loss"][:2] == first.history["loss"][:2]


def test_interrupted_run_resumes_after_the_last_completed_epoch(data, tmp_path):
    class Crash(Exception):
        pass

    def crash_in_epoch_three(progress):
        if progress.stage == "batch_end" and progress.epoch == 3:
            raise Crash()

    with pytest.raises(Crash):
        train(TrainConfig(epochs=4, **FAST), data, [crash_in_epoch_three], run_dir=tmp_path / "run",
              out_path=tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists(), "a failed run must not write the model"
    assert json.loads((tmp_path / "run" / "state.json").read_text())["epochs_done"] == 2
    result = train(TrainConfig(epochs=4, **FAST), data, run_dir=tmp_path / "run", out_path=tmp_path / "m.keras",
                   resume=True)
    assert len(result.history["loss"]) == 4 and (tmp_path / "m.keras").exists()


def test_stop_request_ends_after_the_current_batch_and_keeps_the_best(data, tmp_path):
    stop = threading.Event()

    def stop_in_epoch_two(progress):
        if progress.stage == "batch_end" and progress.epoch == 2:
            stop.set()

    result = train(TrainConfig(epochs=5, **FAST), data, [stop_in_epoch_two], out_path=tmp_path / "m.keras",
                   run_dir=tmp_path / "run", stop_event=stop)
    assert result.stopped_by_request
    assert len(result.history["loss"]) == 1
    assert (tmp_path / "m.keras").exists()


def test_existing_model_is_not_overwritten_unless_asked(data, tmp_path):
    target = tmp_path / "keep.keras"
    target.write_bytes(b"precious")
    with pytest.raises(TrainingError, match="exists"):
        train(TrainConfig(epochs=1, **FAST), data, out_path=target, run_dir=tmp_path / "run")
    assert target.read_bytes() == b"precious"
    train(TrainConfig(epochs=1, **FAST), data, out_path=target, run_dir=tmp_path / "run", overwrite=True)
    load_keras_model(target)


def test_unwritable_output_folder_is_a_clear_error(data, tmp_path):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the models folder should be")  # fails even for root, unlike chmod
    with pytest.raises(TrainingError, match="cannot create the folder"):
        train(TrainConfig(epochs=1, **FAST), data, out_path=blocker / "m.keras", run_dir=tmp_path / "r")


def test_data_without_a_validation_split_holds_out_ten_percent(data, tmp_path):
    training_only = Dataset(data.images, data.labels, np.full(len(data), "Training"), "train.csv", "x")
    result = train(TrainConfig(epochs=1, **FAST), training_only, run_dir=tmp_path / "run")
    assert result.card["validation_split"] == "held-out 10% of Training"
    assert result.card["data"]["validation_rows"] == 7 * (12 * 7 // 7 // 10)


def test_invalid_settings_are_all_reported_together():
    with pytest.raises(TrainingError, match="arch 'nope' is unknown.*epochs must be at least 1"):
        TrainConfig(arch="nope", epochs=0)


def test_learning_rate_warms_up_then_decays_to_near_zero():
    config = TrainConfig(epochs=10, warmup_epochs=2, learning_rate=1.0)
    rates = [learning_rate_at(config, e) for e in range(10)]
    assert rates[0] < rates[1] < rates[2] == pytest.approx(1.0)
    assert rates[-1] < 0.05 and all(a >= b for a, b in zip(rates[2:], rates[3:]))


def test_balanced_class_weights_favour_rare_classes():
    labels = np.array([3] * 90 + [1] * 10)
    weights = class_weights(labels, "balanced")
    assert weights[1] > weights[3] and class_weights(labels, "none") is None
    assert class_weights(labels, "sqrt")[1] == pytest.approx(weights[1] ** 0.5)


def _fail_writes(monkeypatch, function: str, when):
    """Make fer_core.artifacts.keras_files.<function> raise 'No space left on device' for paths matching ``when``."""
    import errno

    import fer_core.artifacts.keras_files as modelio

    real = getattr(modelio, function)

    def full_disk(payload, path, *args, **kwargs):
        if when(str(path)):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(payload, path, *args, **kwargs)

    monkeypatch.setattr(modelio, function, full_disk)


def test_a_full_disk_at_the_final_save_leaves_the_existing_model_and_card_untouched(data, tmp_path, monkeypatch):
    target = tmp_path / "m.keras"
    train(TrainConfig(epochs=1, **FAST), data, out_path=target, run_dir=tmp_path / "first")
    model_bytes, card_bytes = target.read_bytes(), target.with_suffix(".json").read_bytes()
    _fail_writes(monkeypatch, "write_json_atomically", lambda path: ".staging." in path)
    with pytest.raises(TrainingError, match="cannot write the model \\(No space left on device\\); the existing "
                                            "model is unchanged.*--finalize"):
        train(TrainConfig(epochs=1, **FAST), data, out_path=target, run_dir=tmp_path / "second", overwrite=True)
    assert target.read_bytes() == model_bytes and target.with_suffix(".json").read_bytes() == card_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first", "m.json", "m.keras", "second"]


def test_a_model_that_would_not_load_never_replaces_a_good_one(data, tmp_path):
    import keras

    from fer_core.artifacts.keras_files import save_model_with_card
    from fer_core.errors import ModelError

    target = tmp_path / "m.keras"
    train(TrainConfig(epochs=1, **FAST), data, out_path=target, run_dir=tmp_path / "run")
    model_bytes, card_bytes = target.read_bytes(), target.with_suffix(".json").read_bytes()
    inputs = keras.Input((48, 48, 1))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Lambda(lambda x: x / 255)(inputs))
    unsafe = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(pooled))  # a Lambda: refused in safe mode
    with pytest.raises(ModelError, match="cannot be loaded"):
        save_model_with_card(unsafe, {"classes": []}, target)
    assert target.read_bytes() == model_bytes and target.with_suffix(".json").read_bytes() == card_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.keras", "run"]


def test_a_full_disk_during_training_is_a_clear_error_and_the_run_resumes(data, tmp_path, monkeypatch):
    _fail_writes(monkeypatch, "save_model_atomically", lambda path: path.endswith("epoch_002.keras"))
    with pytest.raises(TrainingError, match="cannot write the epoch checkpoint \\(No space left on device\\); "
                                            "1 finished epochs are kept"):
        train(TrainConfig(epochs=3, **FAST), data, run_dir=tmp_path / "run", out_path=tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()
    monkeypatch.undo()
    result = train(TrainConfig(epochs=3, **FAST), data, run_dir=tmp_path / "run", out_path=tmp_path / "m.keras",
                   resume=True)
    assert len(result.history["loss"]) == 3 and (tmp_path / "m.keras").exists()


def test_hardware_description_names_the_cpu_and_no_gpu_under_tensorflow():
    from fer_core.training.hardware import accelerator_description, hardware_description

    assert accelerator_description() == ""  # the pinned TensorFlow is the CPU build
    assert f"{os.cpu_count()} cores" in hardware_description()


def test_distillation_mixes_the_teachers_probabilities_into_the_targets(data, tmp_path):
    teacher = train(TrainConfig(epochs=3, **FAST), data, out_path=tmp_path / "teacher.keras", run_dir=tmp_path / "t")
    config = TrainConfig(epochs=2, teacher=str(teacher.model_path), distill_weight=0.75, **FAST)
    train_data, _, _ = split_train_val(data, config)
    targets = training_targets(train_data, config)
    soft = predict_probabilities(load_keras_model(teacher.model_path), train_data.images, tta=True)
    np.testing.assert_allclose(targets, 0.25 * np.eye(7)[train_data.labels] + 0.75 * soft, atol=1e-5)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, atol=1e-5)
    student = train(config, data, out_path=tmp_path / "student.keras", run_dir=tmp_path / "s")
    assert student.card["distilled_from"]["model"] == str(teacher.model_path)
    assert f"--teacher {teacher.model_path}" in student.card["command"]
    assert "--distill-weight 0.75" in student.card["command"]


def test_without_a_teacher_the_targets_are_the_one_hot_labels(data):
    config = TrainConfig(**FAST)
    train_data, _, _ = split_train_val(data, config)
    np.testing.assert_array_equal(training_targets(train_data, config), np.eye(7)[train_data.labels])


def test_a_missing_teacher_is_reported_before_training(data, tmp_path):
    with pytest.raises(TrainingError, match="teacher: .*nope.keras"):
        train(TrainConfig(epochs=1, teacher=str(tmp_path / "nope.keras"), **FAST), data, run_dir=tmp_path / "run")
    with pytest.raises(TrainingError, match="distill_weight"):
        TrainConfig(distill_weight=1.5)


def _stopped_run(data, tmp_path, name: str, *, epochs: int = 3) -> None:
    """A run stopped in its second epoch: one finished epoch and its model in ``tmp_path/name.keras``."""
    stop = threading.Event()

    def stop_in_epoch_two(progress):
        if progress.stage == "batch_end" and progress.epoch == 2:
            stop.set()

    train(TrainConfig(epochs=epochs, **FAST), data, [stop_in_epoch_two], out_path=tmp_path / f"{name}.keras",
          run_dir=tmp_path / "runs" / name, stop_event=stop)


def test_unfinished_runs_lists_a_stopped_run_and_skips_finished_and_broken_ones(data, tmp_path):
    from fer_core.training.runs import unfinished_runs

    _stopped_run(data, tmp_path, "stopped")
    train(TrainConfig(epochs=1, **FAST), data, run_dir=tmp_path / "runs" / "finished")
    (tmp_path / "runs" / "broken").mkdir()
    (tmp_path / "runs" / "broken" / "state.json").write_text("{not json")
    (run,) = unfinished_runs(tmp_path / "runs")
    assert (run.name, run.epochs_done, run.epochs, run.config["arch"]) == ("stopped", 1, 3, "tiny_cnn")
    assert 0 <= run.best_accuracy <= 1 and run.best_epoch == 1 and run.data_fingerprint == "sha256:synthetic"
    assert run.out_path == (tmp_path / "stopped.keras").resolve()
    assert run.writes_to(tmp_path / "stopped.keras") and not run.writes_to(tmp_path / "other.keras")
    assert run.describe().startswith("tiny_cnn, epoch 1 of 3, best ")
    assert unfinished_runs(tmp_path / "nowhere") == []


def test_a_continued_run_may_replace_its_own_model_but_no_other(data, tmp_path):
    _stopped_run(data, tmp_path, "mine")
    other = tmp_path / "other.keras"
    other.write_bytes(b"precious")
    with pytest.raises(TrainingError, match="other.keras: a model with this name exists"):
        train(TrainConfig(epochs=3, **FAST), data, out_path=other, run_dir=tmp_path / "runs" / "mine", resume=True)
    assert other.read_bytes() == b"precious"
    result = train(TrainConfig(epochs=3, **FAST), data, out_path=tmp_path / "mine.keras",
                   run_dir=tmp_path / "runs" / "mine", resume=True)
    assert len(result.history["loss"]) == 3 and not result.stopped_by_request


def test_a_run_continues_only_on_the_data_it_started_on(data, tmp_path):
    _stopped_run(data, tmp_path, "run")
    other = Dataset(data.images[::-1].copy(), data.labels[::-1].copy(), data.splits, "other.csv", "sha256:other")
    with pytest.raises(TrainingError, match=r"trained on synthetic.csv \(sha256:synthetic\), but other.csv is "
                                            r"different data \(sha256:other\)"):
        train(TrainConfig(epochs=3, **FAST), other, out_path=tmp_path / "run.keras", run_dir=tmp_path / "runs" / "run",
              resume=True)


def test_a_run_folder_in_use_by_a_live_process_is_refused_and_left_alone(data, tmp_path):
    import socket
    import subprocess
    import sys

    from fer_core.training.runs import RunFolder, summarize_run

    _stopped_run(data, tmp_path, "busy")
    folder = RunFolder(tmp_path / "runs" / "busy")
    with folder.claimed():  # as a second process training it would hold it
        assert summarize_run(folder.run_dir).trained_by == os.getpid()
        for resume in (True, False):
            with pytest.raises(TrainingError, match=f"process {os.getpid()} is training this run now"):
                train(TrainConfig(epochs=3, **FAST), data, out_path=tmp_path / "busy.keras", run_dir=folder.run_dir,
                      resume=resume, overwrite=True)
        assert folder.load()["epochs_done"] == 1
    assert not folder.lock_file.exists() and summarize_run(folder.run_dir).trained_by is None
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    folder.lock_file.write_text(json.dumps({"pid": int(gone.stdout), "host": socket.gethostname()}))
    assert folder.trained_by() is None  # a killed trainer's lock does not block the run
    folder.lock_file.write_text(json.dumps({"pid": os.getpid(), "host": "before-a-restart"}))
    assert folder.trained_by() is None  # nor does one written on another host (a restarted container)
    result = train(TrainConfig(epochs=3, **FAST), data, out_path=tmp_path / "busy.keras", run_dir=folder.run_dir,
                   resume=True)
    assert len(result.history["loss"]) == 3 and not folder.lock_file.exists()


def _trainable_distance(a, b) -> float:
    """The L2 distance between two models' trainable weights."""
    return float(np.sqrt(sum(np.sum((np.asarray(x) - np.asarray(y)) ** 2)
                             for x, y in zip(a.trainable_weights, b.trainable_weights))))


def _ema_run(data, tmp_path, **settings):
    """A 6-epoch run whose average barely moves (momentum 0.999999): it stays at the first step's
    weights while the raw weights travel on. Returns the result, the saved model and the raw weights."""
    import keras

    config = TrainConfig(epochs=6, ema=0.999999, **{**FAST, **settings})
    result = train(config, data, out_path=tmp_path / "ema.keras", run_dir=tmp_path / "run")
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    raw = keras.models.load_model(tmp_path / "run" / state["checkpoint"], safe_mode=True).layers[-1]
    return result, load_keras_model(tmp_path / "ema.keras"), raw, config


def test_with_ema_the_best_model_holds_the_averaged_weights_that_validation_scored(data, tmp_path):
    train(TrainConfig(epochs=1, **FAST), data, out_path=tmp_path / "start.keras", run_dir=tmp_path / "r0")
    start = load_keras_model(tmp_path / "start.keras")
    # the start already solves the task and a small step keeps it solved (0.01 did not on JAX): average and
    # raw weights score alike, and a tie keeps the average (measured on TensorFlow and on JAX: the
    # average 0.19-0.20 from the start, the raw weights 1.6-1.9 after 24 steps)
    result, saved, raw, _ = _ema_run(data, tmp_path, init_from=str(tmp_path / "start.keras"), learning_rate=0.002)
    assert result.card["training"]["best_weights"] == "averaged"
    assert _trainable_distance(saved, start) < 0.5 * _trainable_distance(raw, start)
    # the card's PublicTest accuracy (the saved model) is the best epoch's validation accuracy
    best = max(result.history["val_accuracy"])
    assert result.card["metrics"]["PublicTest"]["accuracy"] == pytest.approx(best, abs=1e-6)
    assert "--ema 0.999999" in result.card["command"] and result.card["config"]["ema"] == 0.999999


def test_with_ema_the_best_model_holds_the_raw_weights_when_they_score_higher(data, tmp_path):
    import keras

    # from scratch, the frozen average stays near the random start while the raw weights learn the task
    result, saved, raw, config = _ema_run(data, tmp_path)
    assert result.card["training"]["best_weights"] == "raw"
    best = max(result.history["val_accuracy_raw"])
    assert best > max(result.history["val_accuracy"])
    assert result.card["metrics"]["PublicTest"]["accuracy"] == pytest.approx(best, abs=1e-6)
    # the raw weights are scored each epoch: the last score is the last checkpoint's
    assert len(result.history["val_accuracy_raw"]) == len(result.history["val_loss_raw"]) == 6
    _, val_data, _ = split_train_val(data, config)
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    last = keras.models.load_model(tmp_path / "run" / state["checkpoint"], safe_mode=True).evaluate(
        val_data.images.astype(np.float32)[..., None], np.eye(7)[val_data.labels], verbose=0, return_dict=True)
    assert result.history["val_loss_raw"][-1] == pytest.approx(last["loss"], rel=1e-4)
    assert result.history["val_accuracy_raw"][-1] == pytest.approx(last["accuracy"])


@pytest.mark.parametrize("averaged, raw, kept, swapped", [
    (0.60, 0.50, "averaged", True), (0.50, 0.60, "raw", False), (0.55, 0.55, "averaged", True),
    (float("nan"), 0.40, "raw", False)])
def test_the_best_epoch_keeps_whichever_weights_scored_higher(monkeypatch, tmp_path, averaged, raw, kept, swapped):
    import types

    import fer_core.training.callbacks.checkpoint as checkpoint
    from fer_core.training.callbacks.checkpoint import RunCheckpoint

    saved, swaps = [], []
    monkeypatch.setattr(checkpoint, "save_model_atomically", lambda model, path: saved.append(list(swaps)))
    averaging = types.SimpleNamespace(on_test_begin=lambda: swaps.append("in"), on_test_end=lambda: swaps.append("out"))
    run = types.SimpleNamespace(best_file=tmp_path / "best.keras", save_epoch=lambda model, state: "epoch_001.keras")
    state = {"_started": 0.0}
    callback = RunCheckpoint(run, state, types.SimpleNamespace(stopped_by_request=False, history={}),
                           "val_accuracy", averaging)
    callback.on_epoch_end(0, {"val_accuracy": averaged, "val_accuracy_raw": raw})
    assert state["best_weights"] == kept and state["best_value"] == max(v for v in (averaged, raw) if v == v)
    assert saved == [["in"] if swapped else []] and swaps == (["in", "out"] if swapped else [])
    callback.on_epoch_end(1, {"val_accuracy": 0.1, "val_accuracy_raw": 0.1})  # worse: the best stays
    assert state["best_epoch"] == 1 and len(saved) == 1


def test_an_interrupted_ema_run_resumes_with_its_average(data, tmp_path):
    import keras

    config = TrainConfig(epochs=2, ema=0.9, **FAST)
    train(config, data, run_dir=tmp_path / "run")
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    checkpoint = keras.models.load_model(tmp_path / "run" / state["checkpoint"], safe_mode=True)
    averages = [v for v in checkpoint.optimizer.variables if "average" in v.path]
    assert checkpoint.optimizer.use_ema and len(averages) == len(checkpoint.trainable_weights)
    raw = checkpoint.trainable_weights
    assert any(not np.allclose(a, w) for a, w in zip(averages, raw)), "the average was saved, not reset"
    resumed = train(TrainConfig(epochs=4, ema=0.9, **FAST), data, run_dir=tmp_path / "run", resume=True)
    assert len(resumed.history["loss"]) == 4


def test_ema_momentum_must_be_below_one():
    with pytest.raises(TrainingError, match="ema is a momentum"):
        TrainConfig(ema=1.0)
