"""The roll network: how far a face is turned in the photo's plane, in degrees.

YuNet's landmarks barely follow a turned head (its eye line tilts 4 degrees for a head turned by
30; docs/experiments.md), so the eyes cannot level the crop. This small network looks at the
face's disc (``ROLL_DISC``: the square's corners are blanked, so a turn never shows an edge it
could read instead of the face) and says how far it is turned counterclockwise from FER2013's
upright framing, as a fraction of ``ROLL_UNIT`` degrees. ``fer_core.recipes.roll`` trains it.
"""

from __future__ import annotations

import numpy as np

from fer_core.geometry import IMAGE_SIZE, INPUT_SHAPE

ROLL_UNIT = 30.0  # the network's output 1.0 is a face turned by this many degrees
WIDTHS = (16, 32, 64)  # filters of the three conv blocks, at 48, 24 and 12 pixels


def disc_mask(size: int = IMAGE_SIZE) -> np.ndarray:
    """size x size float32 weights: 1 inside the inscribed circle, 0 outside, a 2-pixel ramp between."""
    ys, xs = np.mgrid[:size, :size]
    radius = np.hypot(xs - (size - 1) / 2, ys - (size - 1) / 2)
    return np.clip((size / 2 - radius) / 2.0, 0.0, 1.0).astype(np.float32)


ROLL_DISC = disc_mask()


def build_roll_net(input_shape=INPUT_SHAPE):
    """48 x 48 x 1 disc-masked faces (0..255) -> N x 1 turn, in units of ``ROLL_UNIT`` degrees.

    Three conv blocks (two conv-BN-ReLU and a max-pool each: 16, 32 and 64 filters at 48, 24 and
    12 pixels), one more conv and a dense head that keeps where the features are (no global
    pooling: the turn is a matter of where the eyes and mouth lie). About 25 M multiply-adds, so it
    costs little next to the
    expression network, also in the browser. (Keras is imported here, not with the module: the app
    imports ``ROLL_DISC`` without it.)"""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="face_disc")
    x = layers.Rescaling(1.0 / 255, name="scale")(inputs)
    for filters in WIDTHS:
        x = _conv_bn_relu(x, filters, f"conv{filters}a")
        x = _conv_bn_relu(x, filters, f"conv{filters}b")
        x = layers.MaxPooling2D(name=f"pool{filters}")(x)
    x = layers.Conv2D(WIDTHS[-1], 3, padding="same", activation="relu", name="features")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.3, name="dropout")(x)
    x = layers.Dense(64, activation="relu", name="dense")(x)
    outputs = layers.Dense(1, dtype="float32", name="turn")(x)
    return keras.Model(inputs, outputs, name="roll_net")


def _conv_bn_relu(x, filters: int, name: str):
    from keras import layers

    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)
