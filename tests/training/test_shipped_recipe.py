"""fer_core.training.shipped_recipe: how the shipped model was made, read from its card."""

from __future__ import annotations

import json

import pytest

from fer_core.errors import ModelError
from fer_core.training.shipped_recipe import CPU_FACES_PER_SECOND, shipped_recipe


def test_the_shipped_card_records_each_network_with_its_time_and_commands():
    recipe = shipped_recipe()
    assert len(recipe.networks) == 3 and recipe.validation_split == "PublicTest"
    assert 0.70 < recipe.accuracy < 0.75
    for network in recipe.networks:
        assert network.train_rows == 28_709 and network.config.epochs == 155
        assert 300 < network.seconds < 700 and "H200" in network.hardware  # as the cards recorded them
        assert network.train_command.startswith("python -m fer_core train ")
        assert f"--seed {network.config.seed}" in network.train_command
        assert network.blur_command.startswith("python -m fer_core blur ")
        for bf16 in (False, True):  # the measured CPU rates
            rate = CPU_FACES_PER_SECOND[network.config.arch, bf16]
            assert network.cpu_hours(bf16) == pytest.approx(155 * 28_709 / rate / 3600)
        assert network.cpu_hours(True) < network.cpu_hours(False)  # that CPU computes in bfloat16
    assert recipe.ensemble_command.startswith("python -m fer_core ensemble ")


def test_a_card_without_members_says_so(tmp_path):
    (tmp_path / "single.json").write_text(json.dumps({"name": "single"}))
    with pytest.raises(ModelError, match="records no members"):
        shipped_recipe(tmp_path / "single.keras")
