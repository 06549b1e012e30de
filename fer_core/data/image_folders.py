"""The image-folder release of FER2013: one folder per split, one per class."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from fer_core.data.dataset import Dataset, content_fingerprint
from fer_core.errors import DatasetError
from fer_core.geometry import IMAGE_SIZE
from fer_core.labels import EMOTIONS
from fer_core.limits import Limits

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


def load_image_folder(root: Path, *, skip_bad_rows: bool, limits: Limits) -> Dataset:
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
