"""The FER2013 label set and the face-image geometry shared by every module."""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(EMOTIONS)
IMAGE_SIZE = 48
PIXELS_PER_IMAGE = IMAGE_SIZE * IMAGE_SIZE
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
