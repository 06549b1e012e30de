"""The face check: is this candidate box a face? A face YuNet scores low is often a face all the
same (small, turned, blurred, dark), and so is much that is not (brick, grass, a sleeve). This small
network looks at the candidate's 48 x 48 square, cut as the app cuts faces, and says how likely
it is a face framed like FER2013's. ``fer_core.recipes.face_check`` trains it;
``fer_core.inference.detector`` keeps the weak candidates it is sure of.
"""

from __future__ import annotations

from fer_core.geometry import INPUT_SHAPE

WIDTHS = (16, 32, 64, 96)  # filters of the four conv blocks, at 48, 24, 12 and 6 pixels


def build_face_check_net(input_shape=INPUT_SHAPE):
    """48 x 48 x 1 squares (0..255) -> N x 1 probability that the square holds a face.

    Four conv-BN-ReLU blocks, each halved by max-pooling, global average pooling and a small dense
    head: about 8 M multiply-adds, so dozens of candidates a photo cost little. (Keras is
    imported here, not with the module.)"""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="square")
    x = layers.Rescaling(1.0 / 255, name="scale")(inputs)
    for filters in WIDTHS:
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{filters}")(x)
        x = layers.BatchNormalization(name=f"conv{filters}_bn")(x)
        x = layers.ReLU(name=f"conv{filters}_relu")(x)
        x = layers.MaxPooling2D(name=f"pool{filters}")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dense(32, activation="relu", name="dense")(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32", name="face")(x)
    return keras.Model(inputs, outputs, name="face_check_net")
