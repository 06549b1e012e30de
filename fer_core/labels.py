"""The FER2013 label set and the face-image geometry shared by every module."""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(EMOTIONS)
# how a face that shows each expression is described in a sentence: "Face 1 looks surprised"
ADJECTIVES: dict[str, str] = {"angry": "angry", "disgust": "disgusted", "fear": "fearful", "happy": "happy",
                              "sad": "sad", "surprise": "surprised", "neutral": "neutral"}
IMAGE_SIZE = 48
PIXELS_PER_IMAGE = IMAGE_SIZE * IMAGE_SIZE
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
