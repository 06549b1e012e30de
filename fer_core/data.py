"""FER2013 from the Kaggle CSV or the image-folder release -> uint8 N x 48 x 48 arrays.

Every row is validated. A bad row raises :class:`DatasetError` naming the file, the line
and what was expected, or, with ``skip_bad_rows=True``, is counted and reported in
``Dataset.skipped``. Parsed CSVs are cached as ``.npz`` (no pickle) keyed by the source
file's size, modification time and a hash of its first and last mebibyte.
"""

from __future__ import annotations

import csv
import gzip
import lzma
import hashlib
import itertools
import os
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import DatasetError
from .labels import EMOTIONS, IMAGE_SIZE, NUM_CLASSES, PIXELS_PER_IMAGE
from .limits import DEFAULT_LIMITS, Limits

CACHE_VERSION = 2
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".pgm")
#: Folder names of the image-folder release and the split each one stands for.
FOLDER_SPLITS = {
    "train": "Training",
    "training": "Training",
    "val": "PublicTest",
    "valid": "PublicTest",
    "validation": "PublicTest",
    "publictest": "PublicTest",
    "test": "Test",
    "privatetest": "PrivateTest",
}
#: File-name prefixes of the image-folder release ("PublicTest_123.jpg") and their split.
FILE_PREFIX_SPLITS = {"training": "Training", "publictest": "PublicTest", "privatetest": "PrivateTest"}
KNOWN_USAGES = ("Training", "PublicTest", "PrivateTest")


@dataclass
class Dataset:
    """Faces as uint8 ``images`` (N x 48 x 48), int ``labels`` (N,), split name per row."""

    images: np.ndarray
    labels: np.ndarray
    splits: np.ndarray
    source: str
    fingerprint: str
    class_names: tuple[str, ...] = EMOTIONS
    skipped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def split_names(self) -> list[str]:
        """Split names in order of first appearance."""
        _, first = np.unique(self.splits, return_index=True)
        return [str(self.splits[i]) for i in sorted(first)]

    def subset(self, split: str | None) -> "Dataset":
        """The rows of one split (``None``: every row)."""
        if split is None:
            return self
        mask = self.splits == split
        if not mask.any():
            raise DatasetError(
                f"{self.source}: no rows in split {split!r}; the file has {', '.join(self.split_names)}"
            )
        return Dataset(self.images[mask], self.labels[mask], self.splits[mask], self.source,
                       self.fingerprint, self.class_names, dict(self.skipped))

    def class_counts(self) -> dict[str, dict[str, int]]:
        """Rows per split and class: ``{split: {class: count}}``."""
        return {
            split: {name: int(np.sum((self.splits == split) & (self.labels == i)))
                    for i, name in enumerate(self.class_names)}
            for split in self.split_names
        }


def find_datasets(repo_root: Path) -> list[Path]:
    """FER2013 files or folders found automatically: ``$FER_DATA``, ``data/`` in the repo, ``../shared/data``."""
    candidates: list[Path] = []
    if os.environ.get("FER_DATA"):
        candidates.append(Path(os.environ["FER_DATA"]))
    for folder in (repo_root / "data", repo_root.parent / "shared" / "data"):
        if folder.is_dir():
            candidates += sorted(p for p in folder.iterdir() if p.name.lower().endswith((".csv", ".csv.gz", ".csv.xz")))
            candidates += sorted(p for p in folder.iterdir() if p.is_dir() and (p / "train").is_dir())
    return [p for p in dict.fromkeys(candidates) if p.exists()]


def dataset_folders(repo_root: Path) -> list[Path]:
    """The folders an operator put datasets in: ``$FER_DATA`` (or its folder), ``data/`` in the repo,
    ``../shared/data``; a hosted app accepts typed paths only inside these."""
    folders = [repo_root / "data", repo_root.parent / "shared" / "data"]
    if os.environ.get("FER_DATA"):
        configured = Path(os.environ["FER_DATA"])
        folders.insert(0, configured if configured.is_dir() else configured.parent)
    return [folder.resolve() for folder in folders]


def is_inside(path: Path, folders: list[Path]) -> bool:
    """Whether ``path`` (links resolved) lies inside one of ``folders``."""
    resolved = path.expanduser().resolve()
    return any(resolved == folder or folder in resolved.parents for folder in folders)


def default_cache_dir() -> Path:
    """Where parsed datasets are cached: ``$FER_CACHE_DIR`` or ``~/.cache/fer_core``."""
    return Path(os.environ.get("FER_CACHE_DIR") or Path.home() / ".cache" / "fer_core")


def load_dataset(
    path: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    skip_bad_rows: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> Dataset:
    """Load FER2013 from a CSV (plain, .gz or .xz) or an image folder; see the module docstring."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if path.is_dir():
        return _load_image_folder(path, skip_bad_rows=skip_bad_rows, limits=limits)
    if path.stat().st_size == 0:
        raise DatasetError(f"{path}: the file is empty; expected a FER2013 CSV with a header line "
                           "'emotion,pixels,Usage'")
    key = quick_fingerprint(path)
    cache_file = Path(cache_dir or default_cache_dir()) / f"{path.name}.{key}.v{CACHE_VERSION}.npz"
    if use_cache and not skip_bad_rows:
        cached = _read_cache(cache_file, path)
        if cached is not None:
            return cached
    dataset = _parse_csv(path, skip_bad_rows=skip_bad_rows, limits=limits)
    if use_cache and not dataset.skipped:
        _write_cache(cache_file, dataset)
    return dataset


def quick_fingerprint(path: Path) -> str:
    """A cheap key for a file: size, mtime and a hash of its first and last MiB."""
    stat = path.stat()
    digest = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(1 << 20))
        if stat.st_size > 2 << 20:
            handle.seek(-(1 << 20), os.SEEK_END)
            digest.update(handle.read())
    return digest.hexdigest()[:16]


def content_fingerprint(images: np.ndarray, labels: np.ndarray, splits: np.ndarray) -> str:
    """A hash of the parsed content, the same whatever file format it came from."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(images).tobytes())
    digest.update(np.ascontiguousarray(labels.astype(np.int64)).tobytes())
    digest.update("\n".join(map(str, splits)).encode())
    return "sha256:" + digest.hexdigest()[:32]


# --------------------------------------------------------------------------- CSV

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


def _parse_csv(path: Path, *, skip_bad_rows: bool, limits: Limits) -> Dataset:
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
            label, pixels, usage = _parse_row(_fields(path, line_number, line), len(header), emotion_col,
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


def _parse_row(row: list[str], width: int, emotion_col: int, pixels_col: int,
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


# ------------------------------------------------------------------------- cache

def _read_cache(cache_file: Path, source: Path) -> Dataset | None:
    if not cache_file.exists():
        return None
    try:
        with np.load(cache_file, allow_pickle=False) as archive:
            return Dataset(archive["images"], archive["labels"], archive["splits"], str(source),
                           str(archive["fingerprint"]))
    except (OSError, ValueError, KeyError, zlib.error):
        return None  # an unreadable cache is just a miss


def _write_cache(cache_file: Path, dataset: Dataset) -> None:
    """Write the cache atomically; a read-only cache location only costs speed."""
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache_file.parent, suffix=".tmp", delete=False) as handle:
            np.savez(handle, images=dataset.images, labels=dataset.labels, splits=dataset.splits,
                     fingerprint=np.asarray(dataset.fingerprint))
        os.replace(handle.name, cache_file)
    except OSError:
        pass


# ------------------------------------------------------------------ image folders

def _load_image_folder(root: Path, *, skip_bad_rows: bool, limits: Limits) -> Dataset:
    import cv2  # imported here: only the image-folder release needs it

    split_dirs = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name.lower() in FOLDER_SPLITS]
    if not split_dirs:
        if any(d.is_dir() and d.name.lower() in EMOTIONS for d in root.iterdir()):
            split_dirs = [root]  # a single split: <root>/<class>/*.jpg
        else:
            raise DatasetError(f"{root}: expected sub-folders train/ and test/ (or class folders "
                               f"{', '.join(EMOTIONS)}), found none")
    images: list[np.ndarray] = []
    labels: list[int] = []
    splits: list[str] = []
    skipped: Counter[str] = Counter()

    def reject(where: Path, problem: str, kind: str) -> None:
        if not skip_bad_rows:
            raise DatasetError(f"{where}: {problem}")
        skipped[kind] += 1

    for split_dir in split_dirs:
        folder_split = FOLDER_SPLITS.get(split_dir.name.lower(), "Training")
        for class_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            name = class_dir.name.lower()
            if name not in EMOTIONS:
                reject(class_dir, f"unknown class folder; expected one of {', '.join(EMOTIONS)}",
                       "unknown class folder")
                continue
            for file in sorted(p for p in class_dir.iterdir() if p.is_file()):
                if file.suffix.lower() not in IMAGE_SUFFIXES:
                    reject(file, f"not an image file; expected {', '.join(IMAGE_SUFFIXES)}", "not an image")
                    continue
                face = cv2.imdecode(np.fromfile(file, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
                if face is None:
                    reject(file, "the image cannot be decoded (corrupt or truncated)", "unreadable image")
                    continue
                if face.shape != (IMAGE_SIZE, IMAGE_SIZE):
                    face = cv2.resize(face, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
                if len(images) >= limits.max_dataset_rows:
                    raise DatasetError(f"{root}: more than {limits.max_dataset_rows:,} images "
                                       "(the limit on dataset rows)")
                prefix = file.stem.split("_", 1)[0].lower()
                images.append(face)
                labels.append(EMOTIONS.index(name))
                splits.append(FILE_PREFIX_SPLITS.get(prefix, folder_split))
    if not images:
        raise DatasetError(f"{root}: no images found under {', '.join(d.name for d in split_dirs)}")
    image_array = np.stack(images)
    label_array = np.asarray(labels, dtype=np.int64)
    split_array = np.asarray(splits, dtype=str)
    return Dataset(image_array, label_array, split_array, str(root),
                   content_fingerprint(image_array, label_array, split_array), skipped=dict(skipped))
