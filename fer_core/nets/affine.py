"""Geometric augmentation that resamples each face once.

Keras's ``RandomRotation``, ``RandomTranslation`` and ``RandomZoom`` in a row resample
a face three times; every bilinear resampling softens it, so a network trained that
way only ever sees blurred faces (it cost a `vgg_fer_s` 1.7 points of PublicTest
accuracy, recovered by a matched input blur). ``RandomAffine`` draws the
rotation, shift and zoom together and applies them as one affine transform
(``train --resampling single``).

A `vgg_fer_s` trained this way on a CPU needed (almost) no input blur, but scored
66.0% / 66.2% with flip TTA, against 67.0% / 68.3% for the sequential
network with its matched blur, so ``sequential`` stays the default; on a GPU under JAX
the single resampling is the one to use (docs/experiments.md).
"""

from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="fer_core")
class RandomAffine(keras.layers.Layer):
    """Random rotation, shift and zoom in one bilinear resampling (training only).

    Args:
        rotation_degrees: largest rotation either way, in degrees.
        shift: largest shift either way, as a fraction of the image's height and width.
        zoom: largest zoom either way: the sampled region is 1 +- ``zoom`` times the image.
        fill_mode: how pixels from outside the image are filled ("reflect", "nearest", ...).
        seed: seed of the layer's random draws.
    """

    def __init__(self, rotation_degrees: float = 10.0, shift: float = 0.1, zoom: float = 0.1,
                 fill_mode: str = "reflect", seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rotation_degrees = float(rotation_degrees)
        self.shift = float(shift)
        self.zoom = float(zoom)
        self.fill_mode = fill_mode
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def transforms(self, batch_size, height: int, width: int):
        """Random (batch, 8) projective transforms mapping output pixels to input pixels."""
        angle = keras.random.uniform((batch_size,), -1.0, 1.0, seed=self.seed_generator) * (
            self.rotation_degrees * math.pi / 180)
        scale = 1.0 + keras.random.uniform((batch_size,), -1.0, 1.0, seed=self.seed_generator) * self.zoom
        shift_x = keras.random.uniform((batch_size,), -1.0, 1.0, seed=self.seed_generator) * (self.shift * width)
        shift_y = keras.random.uniform((batch_size,), -1.0, 1.0, seed=self.seed_generator) * (self.shift * height)
        centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
        a0, a1 = scale * ops.cos(angle), -scale * ops.sin(angle)
        b0, b1 = scale * ops.sin(angle), scale * ops.cos(angle)
        a2 = centre_x - a0 * centre_x - a1 * centre_y + shift_x
        b2 = centre_y - b0 * centre_x - b1 * centre_y + shift_y
        zeros = ops.zeros_like(angle)
        return ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)

    def call(self, images, training=None):
        if not training:
            return images
        images = ops.cast(images, "float32")
        shape = ops.shape(images)
        transform = self.transforms(shape[0], images.shape[1], images.shape[2])
        return ops.image.affine_transform(images, transform, interpolation="bilinear",
                                          fill_mode=self.fill_mode, data_format="channels_last")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rotation_degrees": self.rotation_degrees, "shift": self.shift,
                "zoom": self.zoom, "fill_mode": self.fill_mode, "seed": self.seed}
