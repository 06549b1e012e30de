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
