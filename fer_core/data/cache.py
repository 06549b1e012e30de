"""Parsed CSVs cached as ``.npz`` (no pickle), keyed by the source file's size, time and edges."""

from __future__ import annotations

import hashlib
import os
import tempfile
import zlib
from pathlib import Path

import numpy as np

from fer_core.data.dataset import Dataset

CACHE_VERSION = 2


def default_cache_dir() -> Path:
    """Where parsed datasets are cached: ``$FER_CACHE_DIR`` or ``~/.cache/fer_core``."""
    return Path(os.environ.get("FER_CACHE_DIR") or Path.home() / ".cache" / "fer_core")


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


def read_cache(cache_file: Path, source: Path) -> Dataset | None:
    if not cache_file.exists():
        return None
    try:
        with np.load(cache_file, allow_pickle=False) as archive:
            return Dataset(archive["images"], archive["labels"], archive["splits"], str(source),
                           str(archive["fingerprint"]))
    except (OSError, ValueError, KeyError, zlib.error):
        return None  # an unreadable cache is just a miss


def write_cache(cache_file: Path, dataset: Dataset) -> None:
    """Write the cache atomically; a read-only cache location only costs speed."""
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache_file.parent, suffix=".tmp", delete=False) as handle:
            np.savez(handle, images=dataset.images, labels=dataset.labels, splits=dataset.splits,
                     fingerprint=np.asarray(dataset.fingerprint))
        os.replace(handle.name, cache_file)
    except OSError:
        pass
