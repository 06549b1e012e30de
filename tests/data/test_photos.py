"""fer_core.data.photos: every common image kind decodes to upright RGB; bad ones get a clear error."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import png_claiming
from PIL import Image

from fer_core.data.photos import load_rgb
from fer_core.errors import ImageError
from fer_core.limits import Limits


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "LA", "CMYK"])
def test_every_colour_mode_becomes_rgb(mode):
    image = Image.new("RGB", (30, 20), (200, 100, 50)).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    rgb = load_rgb(_encode(image, fmt))
    assert rgb.shape == (20, 30, 3) and rgb.dtype == np.uint8


def test_transparent_pixels_become_white():
    image = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert load_rgb(_encode(image, "PNG")).min() == 255


def test_sixteen_bit_png_is_scaled_to_eight_bits():
    image = Image.fromarray(np.full((8, 8), 65535, np.uint16))
    assert load_rgb(_encode(image, "PNG")).max() == 255


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    rgb = load_rgb(_encode(image, "JPEG", exif=exif))
    assert rgb.shape[:2] == (40, 20)


def test_animated_gif_uses_the_first_frame():
    frames = [Image.new("RGB", (10, 10), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert load_rgb(data)[0, 0, 0] > 200


def test_paths_pil_images_and_arrays_are_accepted(tmp_path):
    image = Image.new("RGB", (5, 6), (1, 2, 3))
    image.save(tmp_path / "a.png")
    assert load_rgb(tmp_path / "a.png").shape == (6, 5, 3)
    assert load_rgb(image).shape == (6, 5, 3)
    assert load_rgb(np.zeros((6, 5), np.uint8)).shape == (6, 5, 3)


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"hello, I am a text file", "not an image"),
    (b"%PDF-1.4\n1 0 obj", "not an image"),
])
def test_non_images_are_refused_with_the_supported_list(data, message):
    with pytest.raises(ImageError, match=message):
        load_rgb(data, name="upload.jpg")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_images_are_reported_as_damaged(fmt):
    data = _encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)), fmt)
    with pytest.raises(ImageError, match="damaged or truncated"):
        load_rgb(data[: len(data) // 2])


def test_a_header_claiming_50000_by_50000_pixels_is_refused_with_the_limit():
    expected = "bomb.png: 2,500,000,000 pixels is over the limit of 40,000,000 pixels; refused before decoding"
    with pytest.raises(ImageError, match=expected):
        load_rgb(png_claiming(50_000, 50_000), name="bomb.png")


def test_pixel_bomb_is_refused_before_decoding_with_the_limit():
    header_only = _encode(Image.new("L", (5000, 5000)), "PNG")
    with pytest.raises(ImageError, match="over the limit of 1,000,000 pixels"):
        load_rgb(header_only, limits=Limits(max_image_pixels=1_000_000))


def test_oversized_upload_is_refused_with_the_limit():
    with pytest.raises(ImageError, match="over the 0 MB limit"):
        load_rgb(b"x" * 2000, limits=Limits(max_upload_bytes=1000))


@pytest.mark.parametrize("size", [(1, 1), (10_000, 20)])
def test_extreme_aspect_and_tiny_images_decode(size):
    assert load_rgb(_encode(Image.new("RGB", size), "PNG")).shape == (size[1], size[0], 3)
