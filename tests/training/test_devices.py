"""fer_core.training.devices: training data parallel on several devices learns as on one.

The comparison runs under JAX in a subprocess, with the CPU split into two devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=2``), since the tests' own process runs
Keras on TensorFlow and JAX reads the flag when it starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from fer_core.cli.entry import main
from fer_core.errors import TrainingError
from fer_core.training.devices import DeviceConfig, ValidationRows, plan_devices, rows_that_split

REPO = Path(__file__).resolve().parents[2]

COMPARE = """
import json, sys, tempfile
sys.path.insert(0, {tests!r})
import numpy as np
from conftest import synthetic_faces
from fer_core.data.dataset import Dataset
from fer_core.errors import TrainingError
from fer_core.training.config import TrainConfig
from fer_core.training.devices import DeviceConfig
from fer_core.training.trainer import train

images, labels = synthetic_faces(n_per_class=12)
splits = np.where(np.arange(len(labels)) % 4 == 0, "PublicTest", "Training")  # 21 validation faces: odd
data = Dataset(images, labels, splits, "synthetic.csv", "sha256:synthetic")
config = TrainConfig(arch="tiny_cnn", epochs=3, batch_size=16, warmup_epochs=0, learning_rate=0.01, ema=0.9,
                     max_train_samples=48, seed=3)
report = {{}}
for devices in (1, 2):
    with tempfile.TemporaryDirectory() as folder:
        result = train(config, data, run_dir=folder + "/run", out_path=folder + "/m.keras",
                       devices=DeviceConfig(devices))
        report[devices] = {{"history": result.history, "devices": result.card["training"].get("devices"),
                           "accuracy": result.card["metrics"]["PublicTest"]["accuracy"]}}
problems = []
for asked in (DeviceConfig(3), DeviceConfig(2)):
    try:
        train(TrainConfig(arch="tiny_cnn", epochs=1, batch_size=15), data, devices=asked,
              run_dir=tempfile.mkdtemp() + "/run")
    except TrainingError as error:
        problems.append(str(error))
report["problems"] = problems
print("REPORT" + json.dumps(report))
"""


def test_device_counts_parse_and_bad_ones_are_refused():
    assert DeviceConfig.parse("2") == DeviceConfig(2)
    assert DeviceConfig.parse(" ALL ") == DeviceConfig("all")
    for text in ("two", "-1", "0", "1.5"):
        with pytest.raises(TrainingError, match="devices"):
            DeviceConfig.parse(text)


def test_training_rows_are_trimmed_so_the_last_batch_splits_too():
    assert rows_that_split(28_709, 128, 1) == 28_709
    assert rows_that_split(28_709, 128, 2) == 28_708  # the last batch of 37 faces loses one
    assert rows_that_split(28_709, 128, 8) == 28_704
    assert rows_that_split(256, 128, 8) == 256


def test_padded_validation_scores_count_the_real_faces_only():
    x, y = np.arange(5, dtype=np.float32)[:, None], np.eye(7, dtype=np.float32)[[0, 1, 2, 3, 4]]
    rows = ValidationRows.padded(x, y, devices=4)
    assert len(rows.x) == 8 and rows.padding == 3 and rows.real == 5
    assert rows.x[5:, 0].tolist() == [0.0, 1.0, 2.0]  # copies of the first faces
    # Keras saw 8 rows, 6 right (2 of them copies), mean loss 1.0 (the copies' losses summing to 2.5)
    accuracy, loss = rows.real_scores(6 / 8, 1.0, copies=(2, 2.5))
    assert accuracy == pytest.approx(4 / 5) and loss == pytest.approx((8 - 2.5) / 5)
    assert ValidationRows.padded(x, y, devices=1).padding == 0


def refusal_of_two_devices() -> str:
    """What asking for two devices is refused with in the tests' process: on TensorFlow (where it is
    installed), the backend; on JAX (Python 3.14), the one CPU device it sees."""
    import keras

    return "Keras sees 1" if keras.backend.backend() == "jax" else "KERAS_BACKEND=jax"


def test_several_devices_need_the_jax_backend():
    with pytest.raises(TrainingError, match=refusal_of_two_devices()):
        plan_devices(DeviceConfig(2), batch_size=128)
    assert plan_devices(DeviceConfig(1), batch_size=127).count == 1


def test_the_cli_refuses_several_devices_without_jax_before_loading_data(tmp_path, capsys):
    code = main(["train", "--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "m.keras"),
                 "--devices", "2"])
    assert code == 2
    error = capsys.readouterr().err
    assert refusal_of_two_devices() in error and "missing.csv" not in error


@pytest.mark.slow  # two training runs under JAX in a subprocess, about a minute; CI runs it
@pytest.mark.skipif(find_spec("jax") is None, reason="JAX is not installed (requirements-dev.txt has it)")
def test_two_devices_learn_the_same_loss_curve_as_one():
    env = {**os.environ, "KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_PLATFORMS": "cpu"}
    run = subprocess.run([sys.executable, "-c", COMPARE.format(tests=str(REPO / "tests"))], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.split("REPORT", 1)[1])
    one, two = report["1"], report["2"]
    assert two["devices"] == "2 devices (cpu:0, cpu:1), data parallel" and one["devices"] is None
    for key in ("loss", "val_loss", "val_loss_raw"):  # the same steps, summed in another order
        np.testing.assert_allclose(two["history"][key], one["history"][key], rtol=1e-4, atol=1e-5)
    for key in ("val_accuracy", "val_accuracy_raw"):  # 21 faces, one of them copied once for the second device
        assert two["history"][key] == pytest.approx(one["history"][key], abs=1e-6)
    assert two["accuracy"] == pytest.approx(one["accuracy"])
    too_many, uneven = report["problems"]
    assert "asked for 3 devices, but Keras sees 2" in too_many
    assert "a batch of 15 does not split evenly over 2 devices" in uneven
