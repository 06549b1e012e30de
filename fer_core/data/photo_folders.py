"""Photos read from files and folders, such as the photos without a face that the face check
learns from and that ``bench/detection.py`` counts false alarms on."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fer_core.data.image_folders import IMAGE_SUFFIXES
from fer_core.errors import ImageError


def photo_files(sources: tuple[str, ...]) -> list[Path]:
    """The photo files of ``sources`` (files, or folders searched recursively for
    ``IMAGE_SUFFIXES``), sorted, so that a run sees them in the same order wherever the folders
    are; a photo linked under several names counts once."""
    files: list[Path] = []
    for source in map(Path, sources):
        if source.is_dir():
            found = sorted(path for path in source.rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise ImageError(f"{source}: no photo ({', '.join(IMAGE_SUFFIXES)}) in this folder")
            files += found
        elif source.is_file():
            files.append(source)
        else:
            raise ImageError(f"{source}: no such file or folder (expected photos)")
    unique: dict[Path, Path] = {}
    for path in files:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def read_photos(files: list[Path], max_side: int) -> list[np.ndarray]:
    """The photos of ``files`` as RGB uint8, shrunk to at most ``max_side`` pixels; a file that is
    no readable photo is named in the error."""
    photos = []
    for path in files:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ImageError(f"{path}: not a readable photo (expected one of {', '.join(IMAGE_SUFFIXES)})")
        shrink = max_side / max(bgr.shape[:2])
        if shrink < 1:
            bgr = cv2.resize(bgr, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        photos.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return photos
