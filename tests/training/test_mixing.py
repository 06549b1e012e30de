"""fer_core.training.mixing: MixUp and CutMix batches, and a training run that uses them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import synthetic_faces

from fer_core.data.dataset import Dataset
from fer_core.errors import TrainingError
from fer_core.training.config import TrainConfig
from fer_core.training.mixing import (
    MixedBatches,
    MixingConfig,
    cutmix,
    mix_batch,
    mixup,
)
from fer_core.training.trainer import train


def _numbered(n: int = 8, size: int = 12):
    """Faces filled with their own index, one-hot targets: every mixed pixel tells where it came from."""
    images = np.repeat(np.arange(n, dtype=np.float32), size * size).reshape(n, size, size, 1)
    return images, np.eye(n, dtype=np.float32)


def test_mixup_blends_faces_and_targets_with_the_same_weight():
    images, targets = _numbered()
    partner, lam = np.roll(np.arange(8), 1), np.linspace(0.1, 0.9, 8)
    mixed, mixed_targets = mixup(images, targets, partner, lam)
    expected = lam * np.arange(8) + (1 - lam) * partner
    np.testing.assert_allclose(mixed[:, 0, 0, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(mixed_targets[np.arange(8), np.arange(8)], lam, rtol=1e-6)
    np.testing.assert_allclose(mixed_targets[np.arange(8), partner], 1 - lam, rtol=1e-6)
    np.testing.assert_allclose(mixed_targets.sum(axis=1), 1, rtol=1e-6)


def test_cutmix_targets_are_the_share_of_pixels_each_face_keeps():
    images, targets = _numbered()
    partner = np.roll(np.arange(8), 3)
    lam = np.array([0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 0.95, 1.0])
    mixed, mixed_targets = cutmix(images, targets, partner, lam, np.random.default_rng(0))
    from_partner = (mixed[..., 0] == partner[:, None, None]).mean(axis=(1, 2))
    np.testing.assert_allclose(mixed_targets[np.arange(8), partner], from_partner, rtol=1e-6)
    np.testing.assert_allclose(mixed_targets[np.arange(8), np.arange(8)], 1 - from_partner, rtol=1e-6)
    assert from_partner[0] > 0.2 and from_partner[-1] == 0  # lam 0: a big patch (clipped at borders); 1: none
    assert set(np.unique(mixed)) <= set(range(8))  # pasted, not blended


def test_with_both_on_each_batch_is_mixed_one_way_or_the_other():
    images, targets = _numbered()
    rng = np.random.default_rng(1)
    kinds = set()
    for _ in range(20):
        mixed, _ = mix_batch(images, targets, MixingConfig(mixup=0.4, cutmix=1.0), rng)
        pasted = np.all(np.isin(mixed, np.arange(8)))
        kinds.add("cutmix" if pasted else "mixup")
    assert kinds == {"mixup", "cutmix"}


def test_mixed_batches_cover_every_face_once_an_epoch_and_reshuffle():
    images, targets = _numbered(n=10)
    batches = MixedBatches(images, targets, batch_size=4, config=MixingConfig(), seed=0)
    assert len(batches) == 3

    def epoch():
        return np.concatenate([batches[i][0][:, 0, 0, 0] for i in range(len(batches))])

    first = epoch()
    assert sorted(first) == list(range(10))
    batches.on_epoch_end()
    second = epoch()
    assert sorted(second) == list(range(10)) and not np.array_equal(first, second)


def test_negative_alphas_are_refused():
    with pytest.raises(TrainingError, match="mixup is the alpha of a Beta law"):
        TrainConfig(mixup=-0.1)


def test_a_run_with_mixup_and_cutmix_trains_and_its_card_says_so(tmp_path):
    images, labels = synthetic_faces(n_per_class=8)
    splits = np.where(np.arange(len(labels)) % 4 == 0, "PublicTest", "Training")
    data = Dataset(images, labels, splits, "synthetic.csv", "sha256:synthetic")
    config = TrainConfig(arch="tiny_cnn", batch_size=16, augment=False, warmup_epochs=0, learning_rate=0.01,
                         epochs=2, mixup=0.2, cutmix=1.0)
    result = train(config, data, out_path=tmp_path / "m.keras", run_dir=tmp_path / "run")
    card = json.loads((tmp_path / "m.json").read_text())
    assert len(card["history"]["loss"]) == 2 and result.model_path.exists()
    assert card["config"]["mixup"] == 0.2 and "--mixup 0.2 --cutmix 1.0" in card["command"]
