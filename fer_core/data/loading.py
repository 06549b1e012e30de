"""``load_dataset``: FER2013 from a CSV or an image folder, cached; and where datasets are found."""

from __future__ import annotations

import os
from pathlib import Path

from fer_core.data.cache import CACHE_VERSION, default_cache_dir, quick_fingerprint, read_cache, write_cache
from fer_core.data.dataset import Dataset
from fer_core.data.fer_csv import parse_csv
from fer_core.data.image_folders import load_image_folder
from fer_core.errors import DatasetError
from fer_core.limits import DEFAULT_LIMITS, Limits


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
        return load_image_folder(path, skip_bad_rows=skip_bad_rows, limits=limits)
    if path.stat().st_size == 0:
        raise DatasetError(f"{path}: the file is empty; expected a FER2013 CSV with a header line "
                           "'emotion,pixels,Usage'")
    key = quick_fingerprint(path)
    cache_file = Path(cache_dir or default_cache_dir()) / f"{path.name}.{key}.v{CACHE_VERSION}.npz"
    if use_cache and not skip_bad_rows:
        cached = read_cache(cache_file, path)
        if cached is not None:
            return cached
    dataset = parse_csv(path, skip_bad_rows=skip_bad_rows, limits=limits)
    if use_cache and not dataset.skipped:
        write_cache(cache_file, dataset)
    return dataset
