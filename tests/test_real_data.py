"""Slow checks on the real FER2013 file; skipped cleanly where ../shared/data is absent."""

from __future__ import annotations

import pytest
from conftest import SHARED_CSV

from fer_core.data.loading import load_dataset
from fer_core.training.config import TrainConfig
from fer_core.training.trainer import train

needs_data = pytest.mark.skipif(not SHARED_CSV.exists(), reason="../shared/data/fer2013.csv.gz is absent")


@pytest.mark.slow
@needs_data
def test_a_few_hundred_seed_cnn_steps_beat_chance_clearly(tmp_path):
    data = load_dataset(SHARED_CSV)
    config = TrainConfig(arch="seed_cnn", epochs=3, batch_size=128, optimizer="adam", schedule="constant",
                         warmup_epochs=0, augment=False, max_train_samples=12800)  # 300 steps
    result = train(config, data, out_path=tmp_path / "seed.keras", run_dir=tmp_path / "run")
    accuracy = result.card["metrics"]["PublicTest"]["accuracy"]
    # Measured 0.309 on 2026-11-25; always answering 'happy' scores 0.249, and one standard error
    # at n = 3,589 is 0.008, so 0.29 is more than five standard errors above it.
    assert accuracy > 0.29, f"PublicTest accuracy {accuracy:.3f}; chance (always 'happy') is 0.249"
