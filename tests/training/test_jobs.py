"""Background training jobs: a child process per run, progress over a queue, a prompt Stop."""

from __future__ import annotations

import os
import time

import pytest
from conftest import csv_text, synthetic_faces

from fer_core.metrics.card_scores import CardOptions
from fer_core.training.config import TrainConfig
from fer_core.training.jobs import JobManager, JobSettings, available_cores

QUICK = JobSettings(card_options=CardOptions(score_training_split=False, calibrate=False))


def test_training_threads_leave_a_core_for_predictions():
    assert JobSettings().training_threads() == max(1, available_cores() - 1)
    assert JobSettings(threads=3).training_threads() == 3


@pytest.mark.slow  # a whole training run in a child process; CI runs it
def test_a_job_trains_in_a_child_process_and_reports_progress_and_its_result(tmp_path, tiny_csv):
    manager = JobManager(QUICK)
    job = manager.start("tester", TrainConfig(arch="tiny_cnn", epochs=2, batch_size=8, augment=False,
                                              warmup_epochs=0), tiny_csv, tmp_path / "m.keras", tmp_path / "run")
    assert job.process.pid != os.getpid()
    assert job.wait(120) and job.status == "finished", job.error
    assert job.result.model_path == tmp_path / "m.keras" and (tmp_path / "m.keras").exists()
    assert job.progress.stage == "train_end" and len(job.progress.history["loss"]) == 2
    assert "Training" not in job.result.card["metrics"] and "temperature" not in job.result.card  # QUICK skips both


@pytest.mark.slow  # a whole training run through the job manager; CI runs it
def test_stop_halts_a_long_run_after_the_current_batch_and_keeps_the_best_epoch(tmp_path):
    images, labels = synthetic_faces(n_per_class=30)
    data = tmp_path / "faces.csv"
    data.write_text(csv_text(images, labels))
    manager = JobManager(QUICK)
    job = manager.start("tester", TrainConfig(arch="tiny_cnn", epochs=500, batch_size=8, augment=False,
                                              warmup_epochs=0), data, tmp_path / "long.keras", tmp_path / "run")
    deadline = time.monotonic() + 120
    while not (job.progress and job.progress.stage == "epoch_end") and time.monotonic() < deadline:
        time.sleep(0.1)  # one epoch done: there is a best epoch to keep
    assert job.running, job.error
    job.stop()
    assert job.status == "stopping"
    assert job.wait(60), "the run did not stop"
    assert job.status == "stopped" and job.result.stopped_by_request
    assert job.result.card["training"]["epochs_run"] < 500 and (tmp_path / "long.keras").exists()


@pytest.mark.slow  # a whole training run through the page or the job manager; CI runs it
def test_a_second_job_is_refused_while_one_runs_and_a_failure_is_reported(tmp_path, tiny_csv):
    from fer_core.errors import TrainingError

    manager = JobManager(QUICK)
    config = TrainConfig(arch="tiny_cnn", epochs=3, batch_size=8, augment=False, warmup_epochs=0)
    first = manager.start("first", config, tiny_csv, tmp_path / "a.keras", tmp_path / "run_a")
    try:
        manager.start("second", config, tiny_csv, tmp_path / "b.keras", tmp_path / "run_b")
        raise AssertionError("a second job started")
    except TrainingError as error:
        assert "first is already training a.keras" in str(error)
    first.wait(120)
    broken = tmp_path / "broken.csv"
    broken.write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    failed = manager.start("third", config, broken, tmp_path / "c.keras", tmp_path / "run_c")
    assert failed.wait(120) and failed.status == "failed"
    assert "line 2: expected 2304 pixel values, found 3" in failed.error



@pytest.mark.slow  # a training process started and stopped; CI runs it
def test_a_stop_before_the_first_epoch_ends_as_stopped_with_a_note(tmp_path, tiny_csv):
    manager = JobManager(QUICK)
    job = manager.start("tester", TrainConfig(arch="tiny_cnn", epochs=5, batch_size=2, augment=False,
                                              warmup_epochs=0), tiny_csv, tmp_path / "early.keras", tmp_path / "run")
    job.stop()  # before the child has trained a batch: no epoch can finish
    assert job.wait(60)
    assert job.status == "stopped" and job.error is None and "before the first epoch finished" in job.note
    assert not (tmp_path / "early.keras").exists()
