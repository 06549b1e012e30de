"""Dataset exploration: samples, mean faces, intensity histogram, data-quality findings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from fer_core.data.dataset import Dataset


def sample_indices(data: Dataset, per_class: int, seed: int) -> dict[str, list[int]]:
    """Random row indices, ``per_class`` of each class (fewer if the class is smaller)."""
    rng = np.random.default_rng(seed)
    picks = {}
    for label, name in enumerate(data.class_names):
        rows = np.flatnonzero(data.labels == label)
        picks[name] = sorted(rng.choice(rows, size=min(per_class, len(rows)), replace=False).tolist()) if len(rows) else []
    return picks


def mean_faces(data: Dataset) -> dict[str, np.ndarray]:
    """The average 48 x 48 face of each class (uint8), for classes that have rows."""
    return {name: data.images[data.labels == label].mean(axis=0).round().astype(np.uint8)
            for label, name in enumerate(data.class_names) if (data.labels == label).any()}


def intensity_histogram(data: Dataset, bins: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin edges of all pixel values."""
    counts = np.bincount(data.images.reshape(-1), minlength=256)
    grouped = counts.reshape(bins, 256 // bins).sum(axis=1)
    return grouped, np.linspace(0, 256, bins + 1)


@dataclass
class QualityReport:
    """Suspicious rows: near-constant images and exact duplicates."""

    near_blank: list[int] = field(default_factory=list)  # pixel standard deviation under the threshold
    duplicate_groups_within: dict[str, list[list[int]]] = field(default_factory=dict)  # per split
    duplicates_across: list[list[int]] = field(default_factory=list)  # same image in more than one split
    conflicting_labels: list[list[int]] = field(default_factory=list)  # duplicate groups whose labels disagree

    def counts(self) -> dict[str, int]:
        """Headline numbers for the report."""
        return {"near-blank images": len(self.near_blank),
                **{f"duplicate images within {split}": sum(len(g) - 1 for g in groups)
                   for split, groups in self.duplicate_groups_within.items()},
                "images in more than one split": len(self.duplicates_across),
                "duplicate groups with conflicting labels": len(self.conflicting_labels)}


def quality_report(data: Dataset, blank_std: float = 3.0) -> QualityReport:
    """Find near-constant images and exact duplicates within and across splits."""
    flat = data.images.reshape(len(data), -1)
    report = QualityReport(near_blank=np.flatnonzero(flat.std(axis=1) < blank_std).tolist())
    groups: dict[bytes, list[int]] = {}
    for index, row in enumerate(flat):
        groups.setdefault(hashlib.blake2b(row.tobytes(), digest_size=12).digest(), []).append(index)
    for rows in (g for g in groups.values() if len(g) > 1):
        splits = {str(data.splits[i]) for i in rows}
        if len({int(data.labels[i]) for i in rows}) > 1:
            report.conflicting_labels.append(rows)
        if len(splits) > 1:
            report.duplicates_across.append(rows)
        for split in splits:
            inside = [i for i in rows if data.splits[i] == split]
            if len(inside) > 1:
                report.duplicate_groups_within.setdefault(split, []).append(inside)
    for split in data.split_names:
        report.duplicate_groups_within.setdefault(split, [])
    return report
