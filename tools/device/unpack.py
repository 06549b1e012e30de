"""Join the pieces that tools/device/pack.py cut, check them, and write the FER2013 CSV back.

    python tools/device/unpack.py OUT.csv          # reads .device/data_*/part-*

On a lent GPU machine (tools/device/train.sh runs it): the CSV it writes parses to the same faces,
labels and splits, so the model card's data fingerprint matches the original file's.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pack import OUT, PACKED_NAME, decode_faces  # noqa: E402


def join_pieces(folder: Path = OUT) -> bytes:
    """The packed bytes, or SystemExit naming what is missing or damaged."""
    pieces = sorted(folder.glob("data_*/part-*"), key=lambda p: p.name)
    checksums = sorted(folder.glob(f"data_*/{PACKED_NAME}.sha256"))
    present = " ".join(sorted(p.parent.name for p in pieces)) or "none"
    if not checksums:
        raise SystemExit(f"the packed data is incomplete (pieces here: {present}); carry every "
                         ".device/data_N: all in one call (train.sh --all), or one per call on one warm machine")
    packed = b"".join(p.read_bytes() for p in pieces)
    expected = checksums[0].read_text().split()[0]
    if hashlib.sha256(packed).hexdigest() != expected:
        raise SystemExit(f"the packed data does not match its checksum (pieces here: {present}); carry "
                         "every .device/data_N: all in one call (train.sh --all), or one per call on one warm machine")
    return packed


def write_csv(path: Path, images: np.ndarray, labels: np.ndarray, splits: np.ndarray) -> None:
    """FER2013's Kaggle CSV: emotion,pixels,Usage."""
    names = np.array([str(v) for v in range(256)])
    with open(path, "w", encoding="ascii") as handle:
        handle.write("emotion,pixels,Usage\n")
        for image, label, split in zip(images.reshape(len(images), -1), labels, splits):
            handle.write(f"{label},{' '.join(names[image])},{split}\n")


if __name__ == "__main__":
    target = Path(sys.argv[1])
    faces, labels, splits = decode_faces(join_pieces())
    write_csv(target, faces, labels, splits)
    print(f"{len(faces)} faces written to {target}")
