"""The network input: a 48 x 48 grayscale face, one channel, pixel values 0..255."""

from __future__ import annotations

IMAGE_SIZE = 48
PIXELS_PER_IMAGE = IMAGE_SIZE * IMAGE_SIZE
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
