"""Drawing results onto photos: a numbered box and a label per face, always inside the picture."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .images import load_rgb

BOX_COLOUR = (255, 196, 0)
TEXT_COLOUR = (20, 20, 20)


def face_tag(number: int, face) -> str:
    """The text drawn beside a face: '1 happy 87%', or '1 angry? 41%' below the uncertain threshold."""
    label = f"{face.label}?" if getattr(face, "uncertain", False) else face.label
    return f"{number} {label} {face.confidence:.0%}"


def annotate(image, faces) -> np.ndarray:
    """The upright RGB photo with every face boxed, numbered and labelled (confidence in %).

    The label is drawn with an anti-aliased font sized to the photo (at least 14 px), above the
    box when there is room, else inside it, and shifted left so it never leaves the picture."""
    canvas = Image.fromarray(load_rgb(image))
    draw = ImageDraw.Draw(canvas)
    width, height = canvas.size
    longest = max(width, height)
    thickness = max(2, round(longest / 400))
    font = ImageFont.load_default(size=max(14, round(longest / 32)))
    for number, face in enumerate(faces, start=1):
        x, y, w, h = face.box
        draw.rectangle((x, y, x + w - 1, y + h - 1), outline=BOX_COLOUR, width=thickness)
        text = face_tag(number, face)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        pad = max(2, thickness)
        tag_w, tag_h = right - left + 2 * pad, bottom - top + 2 * pad
        tag_x = min(max(x, 0), max(width - tag_w, 0))
        tag_y = y - tag_h if y - tag_h >= 0 else min(y + thickness, max(height - tag_h, 0))
        draw.rectangle((tag_x, tag_y, tag_x + tag_w, tag_y + tag_h), fill=BOX_COLOUR)
        draw.text((tag_x + pad - left, tag_y + pad - top), text, font=font, fill=TEXT_COLOUR)
    return np.asarray(canvas)
