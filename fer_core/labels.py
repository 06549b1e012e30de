"""The FER2013 label set: the seven expressions, in the dataset's order, and how a sentence names them."""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(EMOTIONS)
# how a face that shows each expression is described in a sentence: "Face 1 looks surprised"
ADJECTIVES: dict[str, str] = {"angry": "angry", "disgust": "disgusted", "fear": "fearful", "happy": "happy",
                              "sad": "sad", "surprise": "surprised", "neutral": "neutral"}
