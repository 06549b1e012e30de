"""Drawing results onto photos: a numbered box and a label per face, always inside the picture."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fer_core.data.photos import load_rgb

BOX_COLOUR = (255, 196, 0)
TEXT_COLOUR = (20, 20, 20)
LANDMARK_COLOUR = (0, 230, 255)


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


def draw_landmarks(rgb: np.ndarray, faces) -> np.ndarray:
    """A copy of the RGB photo with each face's five landmarks (eyes, nose tip, mouth corners) as dots."""
    out = np.ascontiguousarray(rgb).copy()
    radius = max(2, round(max(out.shape[:2]) / 250))
    for face in faces:
        for x, y in getattr(face, "landmarks", ()):
            cv2.circle(out, (int(round(x)), int(round(y))), radius, LANDMARK_COLOUR, -1, cv2.LINE_AA)
    return out


def colorize(heat: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A heat map (0..1) resized to ``size`` (width, height) as an RGB 'jet' image."""
    resized = cv2.resize(heat.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    bgr = cv2.applyColorMap(np.uint8(np.clip(resized, 0, 1) * 255), cv2.COLORMAP_JET)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def overlay_on_face(face: np.ndarray, heat: np.ndarray, size: int = 192, alpha: float = 0.45) -> np.ndarray:
    """The 48 x 48 face enlarged to ``size`` with the heat map blended over it (RGB uint8)."""
    big = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    gray_rgb = np.repeat(big[..., None], 3, axis=2)
    return cv2.addWeighted(gray_rgb, 1 - alpha, colorize(heat, (size, size)), alpha, 0)


def overlay_on_photo(rgb: np.ndarray, boxes_and_heats: list[tuple[tuple[int, int, int, int], np.ndarray]],
                     alpha: float = 0.45) -> np.ndarray:
    """The photo with each face's heat map blended into its (squared) box."""
    out = rgb.copy()
    height, width = rgb.shape[:2]
    for (x, y, w, h), heat in boxes_and_heats:
        side = max(w, h)
        left, top = int(round(x + w / 2 - side / 2)), int(round(y + h / 2 - side / 2))
        x0, y0, x1, y1 = max(0, left), max(0, top), min(width, left + side), min(height, top + side)
        if x1 <= x0 or y1 <= y0:
            continue
        colour = colorize(heat, (side, side))[y0 - top:y1 - top, x0 - left:x1 - left]
        out[y0:y1, x0:x1] = cv2.addWeighted(out[y0:y1, x0:x1], 1 - alpha, colour, alpha, 0)
    return out
