"""ui.forms: the Train page's answers become the TrainConfig they ask for."""

from __future__ import annotations

import pytest

from fer_core.errors import TrainingError
from ui.forms import EMA_MOMENTUM, TrainForm


def test_the_default_form_trains_the_balanced_network_for_ten_epochs():
    config = TrainForm().to_config()
    assert (config.arch, config.epochs, config.warmup_epochs, config.resampling, config.ema) == (
        "vgg_fer_s", 10, 2, "sequential", 0.0)


def test_the_advanced_choices_reach_the_config():
    config = TrainForm(epochs=1, mixing="CutMix (alpha 1.0)", single_resampling=True, ema=True,
                       class_weighting="sqrt").to_config()
    assert config.cutmix == 1.0 and config.mixup == 0.0 and config.resampling == "single"
    assert config.ema == EMA_MOMENTUM and config.class_weighting == "sqrt" and config.warmup_epochs == 0


@pytest.mark.parametrize("name", ["", "../models/default", "a b", "x" * 65])
def test_a_name_that_is_not_a_safe_file_name_is_refused(name):
    with pytest.raises(TrainingError, match="letters, digits"):
        TrainForm(name=name).check_name()
    TrainForm(name="my-model_2").check_name()


def test_each_network_of_the_shipped_model_has_its_exact_settings_in_the_form():
    from fer_core.training.shipped_recipe import shipped_recipe

    networks = shipped_recipe().networks
    assert [n.config.arch for n in networks] == ["vgg_fer", "vgg_fer", "vgg_fer_s"]
    for network in networks:
        form = TrainForm.from_config(network.config, "again")
        assert form.to_config() == network.config  # seed, bfloat16, EMA, MixUp and all


def test_settings_the_form_cannot_express_are_refused_by_name():
    from fer_core.training.config import TrainConfig

    with pytest.raises(TrainingError, match="optimizer"):
        TrainForm.from_config(TrainConfig(optimizer="sgd"), "x")
    with pytest.raises(TrainingError, match="mixup"):
        TrainForm.from_config(TrainConfig(mixup=0.5), "x")
