"""Decoding user images: any common format, EXIF orientation honoured, limits checked first."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from fer_core.errors import ImageError
from fer_core.limits import DEFAULT_LIMITS, Limits

SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF", "MPO")
SUPPORTED_SUFFIXES = ("jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff")
EXIF_ORIENTATION = 0x0112



def load_rgb(image, *, limits: Limits = DEFAULT_LIMITS, name: str | None = None) -> np.ndarray:
    """An H x W x 3 uint8 RGB array from a path, bytes, a PIL image or an array."""
    if isinstance(image, np.ndarray):
        return _array_to_rgb(image, name or "array")
    if isinstance(image, Image.Image):
        return _pil_to_rgb(image, name or "image", limits)
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        label = name or str(path)
        if not path.is_file():
            raise ImageError(f"{label}: no such image file")
        size = path.stat().st_size
        _check_bytes(size, label, limits)
        data = path.read_bytes()
    elif isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        label = name or "upload"
        _check_bytes(len(data), label, limits)
    else:
        raise ImageError(f"cannot read an image from a {type(image).__name__}; pass a path, bytes, "
                         "a PIL image or an H x W x 3 uint8 array")
    try:
        opened = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError(f"{label}: not an image this app can read; supported: "
                         f"{', '.join(SUPPORTED_SUFFIXES)}") from None
    except Image.DecompressionBombError as error:  # PIL's own guard, for headers far beyond our limit
        claimed = re.search(r"\((\d+) pixels\)", str(error))
        size = f"{int(claimed.group(1)):,} pixels" if claimed else "the size its header claims"
        raise ImageError(f"{label}: {size} is over the limit of {limits.max_image_pixels:,} pixels; "
                         "refused before decoding") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:  # a recognised format with a broken header
        raise ImageError(f"{label}: the image is damaged or truncated ({error})") from None
    return _pil_to_rgb(opened, label, limits)


def claimed_pixels(data: bytes) -> int:
    """Width x height as the image's header states it, without decoding (0 when unreadable)."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
    except Exception:  # noqa: BLE001  unreadable here: decoding it reports the problem
        return 0
    return int(width) * int(height)


def _check_bytes(size: int, label: str, limits: Limits) -> None:
    if size == 0:
        raise ImageError(f"{label}: the file is empty (0 bytes)")
    if size > limits.max_upload_bytes:
        raise ImageError(f"{label}: {size / 1e6:.1f} MB is over the {limits.max_upload_bytes / 1e6:.0f} MB limit "
                         "for one photo")


def _pil_to_rgb(opened: Image.Image, label: str, limits: Limits) -> np.ndarray:
    if opened.format and opened.format not in SUPPORTED_FORMATS:
        raise ImageError(f"{label}: {opened.format} images are not supported; supported: "
                         f"{', '.join(SUPPORTED_SUFFIXES)}")
    width, height = opened.size
    if width * height > limits.max_image_pixels:
        raise ImageError(f"{label}: {width}x{height} pixels is over the limit of "
                         f"{limits.max_image_pixels:,} pixels; refused before decoding")
    if width < 1 or height < 1:
        raise ImageError(f"{label}: the image has no pixels")
    try:
        opened.seek(0)  # the first frame of an animation
        opened.load()
        turned = opened.getexif().get(EXIF_ORIENTATION, 1) not in (None, 1)
        upright = ImageOps.exif_transpose(opened) if turned else opened  # (it copies even an upright photo)
        return _to_rgb_array(upright)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as error:
        raise ImageError(f"{label}: the image is damaged or truncated ({error})") from None


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    """Convert any PIL mode to RGB: alpha composited over white, 16-bit scaled to 8-bit."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        gray = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"), dtype=np.uint8)


def _array_to_rgb(array: np.ndarray, label: str) -> np.ndarray:
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ImageError(f"{label}: expected an H x W x 3 RGB array, got shape {array.shape}")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.shape[2] == 4:
        array = array[..., :3]
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and array.max() <= 1.0:
            array = array * 255.0
        array = np.clip(array, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)
