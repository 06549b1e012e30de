"""Drawing results onto photos: a numbered box and label per face."""

from __future__ import annotations

import cv2
import numpy as np

from .images import load_rgb

BOX_COLOUR = (255, 196, 0)


def annotate(image, faces) -> np.ndarray:
    """The upright RGB photo with every face boxed, numbered and labelled (confidence in %)."""
    canvas = load_rgb(image).copy()
    thickness = max(2, round(max(canvas.shape[:2]) / 400))
    scale = max(0.5, max(canvas.shape[:2]) / 1100)
    for number, face in enumerate(faces, start=1):
        x, y, w, h = face.box
        cv2.rectangle(canvas, (x, y), (x + w, y + h), BOX_COLOUR, thickness)
        label = f"{face.label}?" if getattr(face, "uncertain", False) else face.label  # "?": below the threshold
        text = f"{number}: {label} {face.confidence:.0%}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = max(y - th - base - 4, 0)
        cv2.rectangle(canvas, (x, top), (x + tw + 6, top + th + base + 4), BOX_COLOUR, -1)
        cv2.putText(canvas, text, (x + 3, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness,
                    cv2.LINE_AA)
    return canvas
