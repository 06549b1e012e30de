"""Input limits, defined once and enforced at the edges (uploads, CLI, API)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what the app and CLI accept from a user."""

    max_upload_bytes: int = 25 * 1024 * 1024  # one photo upload
    max_image_pixels: int = 40_000_000  # width * height, checked before decoding
    max_faces: int = 50  # faces classified per photo; more are reported, not classified
    max_dataset_rows: int = 200_000  # FER2013 has 35,887
    max_batch_photos: int = 2_000  # photos in one batch (a folder, a .zip or several uploads)
    max_zip_bytes: int = 500 * 1024 * 1024  # uncompressed total of a .zip batch


DEFAULT_LIMITS = Limits()
