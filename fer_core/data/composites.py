"""Photos made from dataset faces: a 48 x 48 face pasted into a scene, and whether a detector's box
found it. ``bench/detection.py`` measures the detector on such photos (PublicTest faces), and
``recipes.face_check`` trains the face check on them (Training faces, other backgrounds)."""

from __future__ import annotations

import cv2
import numpy as np


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Any image array (grey, RGB or RGBA; uint8, float or bool) as H x W x 3 uint8."""
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.dtype != np.uint8:
        image = (255 * (image - image.min()) / max(float(np.ptp(image)), 1e-9)).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def paste_face(canvas: np.ndarray, face: np.ndarray, centre: tuple[int, int], side: int, degrees: float) -> None:
    """Blend a 48 x 48 face, upscaled to ``side`` and turned by ``degrees``, into the RGB ``canvas``
    at ``centre``, with a soft oval mask."""
    big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    reach = int(side * 0.75)
    patch = cv2.copyMakeBorder(big, reach - side // 2, reach - side // 2, reach - side // 2, reach - side // 2,
                               cv2.BORDER_REPLICATE)
    size = patch.shape[0]
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), degrees, 1.0)
    patch = cv2.warpAffine(patch, matrix, (size, size), borderMode=cv2.BORDER_REPLICATE)
    mask = np.zeros((size, size), np.float32)
    cv2.ellipse(mask, (size // 2, size // 2), (int(side * 0.52), int(side * 0.62)), -degrees, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, side * 0.04))[..., None]
    x0, y0 = centre[0] - size // 2, centre[1] - size // 2
    left, top = max(0, x0), max(0, y0)
    right, bottom = min(canvas.shape[1], x0 + size), min(canvas.shape[0], y0 + size)
    region = canvas[top:bottom, left:right].astype(np.float32)
    cut = (slice(top - y0, bottom - y0), slice(left - x0, right - x0))
    face_rgb = np.repeat(patch[cut][..., None], 3, axis=2).astype(np.float32)
    canvas[top:bottom, left:right] = (mask[cut] * face_rgb + (1 - mask[cut]) * region).astype(np.uint8)


def free_spot(rng: np.random.Generator, side: int, placed: list[dict], size: tuple[int, int],
              attempts: int = 30) -> tuple[int, int] | None:
    """A centre for a face of ``side`` pixels in a ``size`` (height, width) photo that keeps clear of
    the faces ``placed`` (dicts with ``centre`` and ``side``), or None after ``attempts`` tries."""
    height, width = size
    for _ in range(attempts):
        centre = (int(rng.integers(side // 2, width - side // 2)), int(rng.integers(side // 2, height - side // 2)))
        if all(abs(centre[0] - t["centre"][0]) > (side + t["side"]) * 0.6 or
               abs(centre[1] - t["centre"][1]) > (side + t["side"]) * 0.6 for t in placed):
            return centre
    return None


FINDS_LARGEST = 1.6  # the largest box, in times a face's square, that finds the face
CLOSE_UP_LARGEST = 2.0  # a box up to this many times a face's square may frame a close-up FER2013 cut tightly


def box_finds_face(box: tuple[float, float, float, float], face: dict, largest: float = FINDS_LARGEST) -> bool:
    """Whether a box (x, y, w, h) finds the pasted ``face`` (``centre``, ``side``): its centre lies
    inside the face's square and its side is 0.4-``largest`` times the square's."""
    x, y, w, h = box
    cx, cy, side = x + w / 2, y + h / 2, face["side"]
    inside = abs(cx - face["centre"][0]) <= side / 2 and abs(cy - face["centre"][1]) <= side / 2
    return inside and 0.4 <= max(w, h) / side <= largest


def face_alone(face: np.ndarray, scale: int, pad_fraction: float, degrees: float = 0.0) -> tuple[np.ndarray, int]:
    """A 48 x 48 face as a grey photo with nothing else in it: upscaled ``scale`` times (bicubic),
    padded by ``pad_fraction`` of its size on every side (edge pixels repeated) and turned by
    ``degrees`` about its centre; returns the photo and the padding."""
    side = face.shape[0] * scale
    big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    pad = int(side * pad_fraction)
    photo = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    if degrees:
        size = photo.shape[0]
        turn = cv2.getRotationMatrix2D(((size - 1) / 2, (size - 1) / 2), degrees, 1.0)
        photo = cv2.warpAffine(photo, turn, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return photo, pad
