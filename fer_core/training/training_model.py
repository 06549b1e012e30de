"""The model that trains: the architecture behind its augmentation layers, compiled; and the network taken back out of it."""

from __future__ import annotations

from fer_core.errors import TrainingError
from fer_core.geometry import INPUT_SHAPE
from fer_core.training.augmentation import augmentation_layers
from fer_core.training.config import TrainConfig
from fer_core.training.optimizer import make_optimizer


def build_training_model(config: TrainConfig):
    """The architecture wrapped with augmentation layers, compiled."""
    import keras

    from fer_core.nets.builders import build_model

    core = build_model(config.arch)
    training_model = keras.Sequential([keras.Input(INPUT_SHAPE, name="face"), *augmentation_layers(config, config.seed), core],
                                      name=f"train_{config.arch}")
    training_model.compile(
        optimizer=make_optimizer(config),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    return training_model


def start_from_weights(training_model, config: TrainConfig) -> None:
    """Copy the weights of ``config.init_from`` (same architecture) into the model to train."""
    from fer_core.artifacts.keras_files import load_keras_model
    from fer_core.nets.input_blur import network_weights

    start = network_weights(load_keras_model(config.init_from))  # a blurred model: its network's weights
    core = training_model.layers[-1]
    shapes = [tuple(w.shape) for w in core.get_weights()]
    if [tuple(w.shape) for w in start] != shapes:
        raise TrainingError(f"{config.init_from}: its weights do not fit {config.arch!r}; "
                            f"init_from needs a model of the same architecture")
    core.set_weights(start)


def network_of(training_model, arch: str):
    """The inference model inside a training model, rebuilt in float32 with the trained weights."""
    from fer_core.nets.builders import build_model

    inner = training_model.layers[-1]
    model = build_model(arch)
    model.set_weights(inner.get_weights())
    return model
