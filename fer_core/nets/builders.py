"""Architecture registry: one function per network, each returning a ``keras.Model``.

Every model takes a batch of 48 x 48 x 1 grayscale faces with pixel values 0..255
(float32) and returns seven softmax probabilities in the order of ``labels.EMOTIONS``.
Scaling to 0..1 happens inside the model, so callers never have to remember it.
Only the Keras 3 API is used here, so the same code trains under TensorFlow or JAX.
"""

from __future__ import annotations

from typing import Callable

import keras
from keras import layers

from fer_core.geometry import INPUT_SHAPE
from fer_core.labels import NUM_CLASSES
from fer_core.nets.architectures import ARCHITECTURE_NAMES

ModelBuilder = Callable[..., keras.Model]
ARCHITECTURES: dict[str, ModelBuilder] = {}


def register(name: str) -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator that adds the builder of an architecture listed in ``architectures`` to the registry.

    Every layer of every builder has an explicit name, so a model's layer names never depend on
    what else the process built before it (Keras numbers unnamed layers per thread).
    """
    if name not in ARCHITECTURE_NAMES:
        raise KeyError(f"{name!r} is not listed in fer_core.nets.architectures")

    def add(builder: ModelBuilder) -> ModelBuilder:
        ARCHITECTURES[name] = builder
        return builder

    return add


def build_model(name: str, input_shape: tuple[int, int, int] = INPUT_SHAPE,
                num_classes: int = NUM_CLASSES) -> keras.Model:
    """Build the registered architecture ``name``; KeyError lists the known names."""
    if name not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name](input_shape=input_shape, num_classes=num_classes)


@register("seed_cnn")
def build_seed_cnn(input_shape=INPUT_SHAPE, num_classes=NUM_CLASSES) -> keras.Model:
    """The network of the seed blog post, layer for layer (with its 0.2 dropouts)."""
    inputs = keras.Input(shape=input_shape, name="face")
    x = layers.Rescaling(1.0 / 255, name="scale")(inputs)
    x = layers.Conv2D(64, 5, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(pool_size=5, strides=2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv3")(x)
    x = layers.AveragePooling2D(pool_size=3, strides=2, name="pool2")(x)
    x = layers.Conv2D(128, 3, activation="relu", name="conv4")(x)
    x = layers.Conv2D(128, 3, activation="relu", name="conv5")(x)
    x = layers.AveragePooling2D(pool_size=3, strides=2, name="pool3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(1024, activation="relu", name="dense1")(x)
    x = layers.Dropout(0.2, name="drop1")(x)
    x = layers.Dense(1024, activation="relu", name="dense2")(x)
    x = layers.Dropout(0.2, name="drop2")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="seed_cnn")


def _conv_bn_relu(x, filters: int, name: str):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def _vgg(input_shape, num_classes, widths: tuple[int, ...], dense: int, name: str) -> keras.Model:
    """VGG-style stack: per block two conv-BN-ReLU, a max-pool and dropout; then GAP and a head."""
    inputs = keras.Input(shape=input_shape, name="face")
    x = layers.Rescaling(1.0 / 255, name="scale")(inputs)
    for block, filters in enumerate(widths, start=1):
        x = _conv_bn_relu(x, filters, f"block{block}a")
        x = _conv_bn_relu(x, filters, f"block{block}b")
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
        x = layers.Dropout(0.1 + 0.05 * block, name=f"block{block}_drop")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(dense, use_bias=False, name="head_dense")(x)
    x = layers.BatchNormalization(name="head_bn")(x)
    x = layers.Activation("relu", name="head_relu")(x)
    x = layers.Dropout(0.4, name="head_drop")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


@register("vgg_fer")
def build_vgg_fer(input_shape=INPUT_SHAPE, num_classes=NUM_CLASSES) -> keras.Model:
    """The strong default: the VGG variant that reaches ~73% on FER2013 in the literature, with GAP."""
    return _vgg(input_shape, num_classes, (64, 128, 256, 512), 256, "vgg_fer")


@register("vgg_fer_s")
def build_vgg_fer_small(input_shape=INPUT_SHAPE, num_classes=NUM_CLASSES) -> keras.Model:
    """vgg_fer at half the width: the CPU-budget model."""
    return _vgg(input_shape, num_classes, (32, 64, 128, 256), 256, "vgg_fer_s")


@register("tiny_cnn")
def build_tiny_cnn(input_shape=INPUT_SHAPE, num_classes=NUM_CLASSES) -> keras.Model:
    """A deliberately tiny network that trains in seconds."""
    inputs = keras.Input(shape=input_shape, name="face")
    x = layers.Rescaling(1.0 / 255, name="scale")(inputs)
    x = layers.Conv2D(8, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(16, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="tiny_cnn")
