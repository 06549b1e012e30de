"""Input limits, defined once and enforced at the edges (uploads, CLI, API).

Sizes are in decimal units, as messages print them: 25 MB is 25,000,000 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what the app and CLI accept from a user."""

    max_upload_bytes: int = 25_000_000  # one photo upload (25 MB)
    max_image_pixels: int = 40_000_000  # width * height, checked before decoding
    max_faces: int = 50  # faces classified per photo; more are reported, not classified
    max_dataset_rows: int = 200_000  # FER2013 has 35,887
    max_batch_photos: int = 2_000  # photos in one batch (a folder, a .zip or several uploads)
    max_zip_bytes: int = 500_000_000  # uncompressed total of a .zip batch (500 MB)
    max_batch_pixels: int = 10_000_000_000  # pixels of all the photos of one batch, read from their headers
    max_batch_seconds: float = 0.0  # time one batch may take (0: no limit); the hosted app sets one
    max_dataset_bytes: int = 600_000_000  # a dataset CSV, decompressed (FER2013 is 301 MB)
    max_line_bytes: int = 65_536  # one CSV line (a FER2013 row is about 9 KB)
    max_model_bytes: int = 300_000_000  # a .keras archive's members, uncompressed (the shipped one: 22 MB)
    max_model_config_bytes: int = 10_000_000  # its config.json (the shipped one: 126 KB)
    max_video_bytes: int = 200_000_000  # one video file (200 MB)
    max_video_seconds: float = 0.0  # how much of a video is labelled (0: all of it); the hosted app sets one


DEFAULT_LIMITS = Limits()
# The app serves anyone who opens it: a batch gets a smaller pixel budget and a time budget, and a
# video its first five minutes.
APP_LIMITS = Limits(max_batch_pixels=250_000_000, max_batch_seconds=60.0, max_video_seconds=300.0)
