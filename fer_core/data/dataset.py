"""``Dataset``: FER2013 as uint8 N x 48 x 48 faces, their labels and split names, whatever file it came from.

The readers (``fer_csv``, ``image_folders``) validate every row: a bad row raises
:class:`DatasetError` naming the file, the line and what was expected, or, with
``skip_bad_rows=True``, is counted in ``Dataset.skipped``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from fer_core.errors import DatasetError
from fer_core.labels import EMOTIONS

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


def content_fingerprint(images: np.ndarray, labels: np.ndarray, splits: np.ndarray) -> str:
    """A hash of the parsed content, the same whatever file format it came from."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(images).tobytes())
    digest.update(np.ascontiguousarray(labels.astype(np.int64)).tobytes())
    digest.update("\n".join(map(str, splits)).encode())
    return "sha256:" + digest.hexdigest()[:32]






