"""The Kaggle FER2013 CSV (plain, .gz or .xz), read as a stream and validated row by row."""

from __future__ import annotations

import csv
import gzip
import itertools
import lzma
import zlib
from collections import Counter
from pathlib import Path
from typing import Iterator

import numpy as np

from fer_core.data.dataset import KNOWN_USAGES, Dataset, content_fingerprint
from fer_core.errors import DatasetError
from fer_core.geometry import IMAGE_SIZE, PIXELS_PER_IMAGE
from fer_core.labels import NUM_CLASSES
from fer_core.limits import Limits


def _open_binary(path: Path):
    """Open a CSV as bytes, un-gzipping or un-xz-ing it as it is read (detected by magic bytes, not name)."""
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb")
    if magic == b"\xfd7zXZ\x00":  # xz packs FER2013 a third smaller than gzip
        return lzma.open(path, "rb")
    if path.suffix in (".gz", ".xz"):
        raise DatasetError(f"{path}: the name ends in {path.suffix} but the file is not "
                           f"{'gzip' if path.suffix == '.gz' else 'xz'}-compressed")
    return open(path, "rb")


def _lines(path: Path, limits: Limits) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line, decompressed while it is read, so memory stays bounded:
    a line longer than ``limits.max_line_bytes`` or a file past ``limits.max_dataset_bytes`` once
    decompressed (a decompression bomb) is refused at once, naming the limit."""
    total = 0
    with _open_binary(path) as stream:
        for number in itertools.count(1):
            try:
                raw = stream.readline(limits.max_line_bytes + 1)
            except (EOFError, gzip.BadGzipFile, zlib.error, lzma.LZMAError) as error:
                raise DatasetError(f"{path}: the compressed stream is cut short or corrupt ({error}); "
                                   "download the file again") from None
            if not raw:
                return
            total += len(raw)
            if total > limits.max_dataset_bytes:
                raise DatasetError(f"{path}: more than {limits.max_dataset_bytes / 1e6:,.0f} MB once decompressed "
                                   f"(the limit on a dataset; FER2013 is 301 MB); stopped reading at line {number:,}")
            if len(raw) > limits.max_line_bytes:
                raise DatasetError(f"{path}, line {number:,}: longer than {limits.max_line_bytes:,} bytes (the "
                                   "limit on one line; a FER2013 row is about 9 KB); not a FER2013 CSV")
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise DatasetError(f"{path}, line {number:,}: not text (byte {error.start} is not UTF-8); "
                                   "expected a FER2013 CSV with columns emotion,pixels[,Usage]") from None


def _fields(path: Path, number: int, line: str) -> list[str]:
    """The CSV fields of one line (FER2013 rows never span lines)."""
    try:
        return next(csv.reader([line]), [])
    except csv.Error as error:
        raise DatasetError(f"{path}, line {number:,}: not a CSV line ({error})") from None


def parse_csv(path: Path, *, skip_bad_rows: bool, limits: Limits) -> Dataset:
    lines = _lines(path, limits)
    header: list[str] = []
    for number, line in lines:
        if line.strip():
            if any(ord(character) < 9 for character in line):
                raise DatasetError(f"{path}: not a text CSV (line {number} holds binary data); expected a "
                                   "FER2013 CSV with columns emotion,pixels[,Usage]")
            header = [name.strip().lower() for name in _fields(path, number, line)]
            break
    else:
        raise DatasetError(f"{path}: the file is empty; expected a header line 'emotion,pixels,Usage'")
    if "emotion" not in header or "pixels" not in header:  # not a dataset: its content is not quoted back
        raise DatasetError(f"{path}, line {number}: expected a header with columns 'emotion' and 'pixels' "
                           f"(and optionally 'Usage'); this line has {len(header):,} other field"
                           f"{'s' if len(header) != 1 else ''}, so the file is not a FER2013 CSV")
    emotion_col, pixels_col = header.index("emotion"), header.index("pixels")
    usage_col = header.index("usage") if "usage" in header else None

    images: list[np.ndarray] = []
    labels: list[int] = []
    splits: list[str] = []
    skipped: Counter[str] = Counter()
    for line_number, line in lines:
        if not line.strip():
            continue  # blank line, e.g. a trailing newline
        if len(images) >= limits.max_dataset_rows:
            raise DatasetError(f"{path}, line {line_number}: more than {limits.max_dataset_rows:,} rows "
                               "(the limit on dataset rows); FER2013 has 35,887")
        try:
            label, pixels, usage = parse_row(_fields(path, line_number, line), len(header), emotion_col,
                                              pixels_col, usage_col)
        except ValueError as problem:
            if not skip_bad_rows:
                raise DatasetError(f"{path}, line {line_number}: {problem}") from None
            skipped[_reason_kind(str(problem))] += 1
            continue
        images.append(pixels)
        labels.append(label)
        splits.append(usage)
    if not labels:
        raise DatasetError(f"{path}: the header is there but no data rows follow (is the file truncated?)")
    image_array = np.stack(images).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    label_array = np.asarray(labels, dtype=np.int64)
    split_array = np.asarray(splits, dtype=str)
    return Dataset(image_array, label_array, split_array, str(path),
                   content_fingerprint(image_array, label_array, split_array), skipped=dict(skipped))


def parse_row(row: list[str], width: int, emotion_col: int, pixels_col: int,
               usage_col: int | None) -> tuple[int, np.ndarray, str]:
    """Validate one CSV row; a ValueError's message says what was expected."""
    if len(row) != width:
        raise ValueError(f"expected {width} fields, found {len(row)}")
    raw_label = row[emotion_col].strip()
    if not raw_label.lstrip("-").isdigit():
        raise ValueError(f"emotion {raw_label[:12]!r} is not a whole number; expected 0..{NUM_CLASSES - 1}")
    label = int(raw_label)
    if not 0 <= label < NUM_CLASSES:
        raise ValueError(f"emotion {label} is outside 0..{NUM_CLASSES - 1}")
    tokens = row[pixels_col].split()
    if len(tokens) != PIXELS_PER_IMAGE:
        raise ValueError(f"expected {PIXELS_PER_IMAGE} pixel values, found {len(tokens)}")
    try:
        values = np.array(tokens, dtype=np.int32)
    except ValueError:
        bad = next(t for t in tokens if not t.isdigit())
        raise ValueError(f"pixel value {bad[:20]!r} is not a whole number 0..255") from None
    if values.min() < 0 or values.max() > 255:
        bad = int(values[(values < 0) | (values > 255)][0])
        raise ValueError(f"pixel value {bad} is outside 0..255")
    usage = "Training" if usage_col is None else row[usage_col].strip()
    if usage not in KNOWN_USAGES:
        raise ValueError(f"Usage {usage[:20]!r} is unknown; expected one of {', '.join(KNOWN_USAGES)}")
    return label, values.astype(np.uint8), usage


def _reason_kind(message: str) -> str:
    """Group skip reasons for the report ("pixel values", "emotion", ...)."""
    for kind in ("fields", "pixel value", "emotion", "Usage"):
        if kind in message:
            return {"fields": "wrong number of fields", "pixel value": "bad pixels",
                    "emotion": "bad emotion label", "Usage": "unknown Usage"}[kind]
    return "other"
