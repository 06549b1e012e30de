"""Batch labelling: many photos (a folder, a .zip, or uploads) in, one row per face out, streamed.

Photos are read, labelled and dropped one at a time, so memory does not grow with the batch;
only the small result rows are kept (or written straight to CSV by ``write_csv``). A photo that
cannot be read becomes a row with its error, and the batch goes on.
"""

from __future__ import annotations

import csv
import os
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from fer_core.data.photos import SUPPORTED_SUFFIXES, claimed_pixels
from fer_core.errors import FerError, ImageError
from fer_core.labels import EMOTIONS
from fer_core.limits import DEFAULT_LIMITS, Limits

NO_FACE = "no face"
UNREADABLE = "unreadable"


@dataclass
class BatchRow:
    """One face of one photo (or one photo with no face, or one that could not be read)."""

    file: str
    face: int | None  # 1-based, largest face first; None when there is no face
    box: tuple[int, int, int, int] | None
    label: str  # an emotion, "no face" or "unreadable"
    confidence: float | None
    uncertain: bool = False
    probabilities: dict[str, float] = field(default_factory=dict)
    error: str = ""
    crop: object = field(default=None, repr=False)  # the 48 x 48 face the model saw (uint8), for thumbnails

    def to_record(self) -> dict:
        """A flat dict: the CSV row and the table row."""
        x, y, w, h = self.box or (None, None, None, None)
        record = {"file": self.file, "face": self.face, "x": x, "y": y, "width": w, "height": h,
                  "label": self.label, "confidence": None if self.confidence is None else round(self.confidence, 4),
                  "uncertain": self.uncertain}
        record.update({name: round(self.probabilities[name], 4) if self.probabilities else None for name in EMOTIONS})
        record["error"] = self.error
        return record


CSV_COLUMNS = list(BatchRow("", None, None, "", None).to_record())
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # cells a spreadsheet would run as a formula (OWASP)


def spreadsheet_safe(record: dict) -> dict:
    """The record with every text cell that a spreadsheet would read as a formula prefixed with ``'``
    (a file named ``=cmd|' /C calc'!A0.jpg`` stays a name); numbers are left as they are."""
    return {key: "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value
            for key, value in record.items()}


def _is_image_name(name: str) -> bool:
    base = os.path.basename(name)
    return not base.startswith(".") and base.rsplit(".", 1)[-1].lower() in SUPPORTED_SUFFIXES


def photos_in(source: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> Iterator[tuple[str, bytes | FerError]]:
    """(name, bytes) for every image in a folder (recursively, sorted) or a ``.zip``; an ImageError in
    place of the bytes for a member that is too large. Non-image files are skipped."""
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _is_image_name(p.name))
        _check_count(len(files), path, limits)
        for file in files:
            yield str(file.relative_to(path)), (file.read_bytes() if file.stat().st_size <= limits.max_upload_bytes
                                                else _too_large(str(file), file.stat().st_size, limits))
    elif path.is_file() and zipfile.is_zipfile(path):
        yield from _zip_members(path, None, limits)
    elif path.is_file():
        raise ImageError(f"{path}: not a folder or a .zip of photos")
    else:
        raise ImageError(f"{path}: no such folder or .zip file")


def zip_photos(data: bytes, name: str = "upload.zip", limits: Limits = DEFAULT_LIMITS) -> Iterator[tuple[str, bytes | FerError]]:
    """Like ``photos_in`` for the bytes of an uploaded ``.zip``."""
    import io

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ImageError(f"{name}: not a readable .zip archive")
    yield from _zip_members(name, data, limits)


def _zip_members(source, data: bytes | None, limits: Limits) -> Iterator[tuple[str, bytes | FerError]]:
    import io

    try:
        archive = zipfile.ZipFile(io.BytesIO(data) if data is not None else source)
    except (zipfile.BadZipFile, OSError) as error:
        raise ImageError(f"{source}: not a readable .zip archive ({error})") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and "__MACOSX" not in m.filename
                   and _is_image_name(m.filename)]
        _check_count(len(members), source, limits)
        total = sum(m.file_size for m in members)
        if total > limits.max_zip_bytes:
            raise ImageError(f"{source}: {total / 1e6:.0f} MB uncompressed is over the "
                             f"{limits.max_zip_bytes / 1e6:.0f} MB limit for one .zip")
        for member in members:
            label = f"{source}:{member.filename}" if data is None else member.filename
            if member.file_size > limits.max_upload_bytes:
                yield member.filename, _too_large(label, member.file_size, limits)
                continue
            try:
                yield member.filename, archive.read(member)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
                yield member.filename, ImageError(f"{label}: cannot be extracted ({error})")


def _check_count(count: int, source, limits: Limits) -> None:
    if count > limits.max_batch_photos:
        raise ImageError(f"{source}: {count} photos is over the limit of {limits.max_batch_photos} per batch")


def _too_large(label: str, size: int, limits: Limits) -> ImageError:
    return ImageError(f"{label}: {size / 1e6:.1f} MB is over the {limits.max_upload_bytes / 1e6:.0f} MB limit "
                      "for one photo")


def label_photos(predictor, photos: Iterable[tuple[str, bytes | FerError]],
                 on_photo: Callable[[int, str], None] | None = None) -> Iterator[BatchRow]:
    """Rows for every face of every photo, in order; ``on_photo(done, name)`` after each photo.

    The batch has a budget of pixels (``limits.max_batch_pixels``, read from each photo's header
    before it is decoded) and optionally of time (``limits.max_batch_seconds``): the photos past
    either get a row saying why they were not labelled, at no cost."""
    limits = predictor.config.limits
    deadline = time.monotonic() + limits.max_batch_seconds if limits.max_batch_seconds else None
    pixels_spent = 0
    for done, (name, data) in enumerate(photos, start=1):
        pixels = 0 if isinstance(data, FerError) else claimed_pixels(data)
        if pixels > limits.max_image_pixels:
            pixels = 0  # refused before decoding, with its own message
        if isinstance(data, FerError):
            yield BatchRow(name, None, None, UNREADABLE, None, error=str(data))
        elif pixels_spent + pixels > limits.max_batch_pixels:
            yield BatchRow(name, None, None, UNREADABLE, None,
                           error=f"not labelled: the batch reached its limit of {limits.max_batch_pixels:,} pixels")
        elif deadline is not None and time.monotonic() > deadline:
            yield BatchRow(name, None, None, UNREADABLE, None,
                           error=f"not labelled: the batch reached its time limit of {limits.max_batch_seconds:g} s")
        else:
            pixels_spent += pixels
            try:
                faces = predictor.predict(data, name=name)
            except FerError as error:
                yield BatchRow(name, None, None, UNREADABLE, None, error=str(error))
            else:
                if not faces:
                    yield BatchRow(name, None, None, NO_FACE, None)
                for index, face in enumerate(faces, start=1):
                    yield BatchRow(name, index, face.box, face.label, face.confidence, face.uncertain,
                                   face.probabilities, crop=face.crop)
        if on_photo:
            on_photo(done, name)


def thumbnail_data_url(crop) -> str | None:
    """A face crop (uint8, H x W) as a ``data:image/png`` URL, for an image column of a table."""
    if crop is None:
        return None
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(crop).save(buffer, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def write_csv(rows: Iterable, path: str | os.PathLike, columns: list[str] = CSV_COLUMNS) -> Counter:
    """Stream rows (``BatchRow`` or ``VideoRow``) into a CSV file (written to a temporary name,
    then renamed); returns label counts."""
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    counts: Counter = Counter()
    try:
        with open(partial, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow(spreadsheet_safe(row.to_record()))
                counts[row.label] += 1
        os.replace(partial, target)
    except OSError as error:
        raise FerError(f"{target}: cannot write the CSV ({error.strerror or error})") from None
    finally:
        partial.unlink(missing_ok=True)  # a failed or interrupted batch leaves no half-written file behind
    return counts


def summarize(records: Iterable[dict]) -> dict[str, int]:
    """Faces per expression (every class listed, in order), then "no face" and "unreadable" photos."""
    counts = Counter(r["label"] for r in records)
    summary = {name: counts.get(name, 0) for name in EMOTIONS}
    summary.update({NO_FACE: counts.get(NO_FACE, 0), UNREADABLE: counts.get(UNREADABLE, 0)})
    return summary
