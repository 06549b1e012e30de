"""Pack into .device/ (git-ignored) what a lent GPU machine lacks for `python -m fer_core train`.

    python tools/device/pack.py [path/to/fer2013.csv.gz] [--parts 3]

Writes the faces as one xz-compressed .npz (uint8, no pickle; each face stored as the difference
from the row above it, which xz packs ~4% smaller than the CSV's pixels: 56 MB for Training and
PublicTest) cut into --parts pieces .device/data_1 ... data_N, and the wheels of Keras and of the two
packages it needs that the machine's image lacks (it has JAX, NumPy, h5py, rich, ml-dtypes...).
One device call carries the working tree (~45 MB) and at most 64 MiB in all, so the pieces travel
in separate calls on the same warm machine; tools/device/train.sh says which.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import lzma
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fer_core.data import load_dataset  # noqa: E402

OUT = ROOT / ".device"
PACKED_NAME = "faces.npz.xz"
EXTRA_WHEELS = ("namex==0.1.0", "optree==0.20.0")


def encode_faces(images: np.ndarray, labels: np.ndarray, splits: np.ndarray) -> bytes:
    """The dataset as xz-compressed .npz bytes: vertical pixel differences, labels, split indices."""
    split_names = list(dict.fromkeys(map(str, splits)))
    deltas = np.diff(images, axis=1, prepend=np.zeros_like(images[:, :1])).astype(np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, deltas=deltas, labels=labels.astype(np.uint8),
             split_index=np.array([split_names.index(str(s)) for s in splits], dtype=np.uint8),
             split_names=np.array(split_names))
    return lzma.compress(buffer.getvalue(), preset=9)


def decode_faces(packed: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images (uint8 N x 48 x 48), labels and split names back from ``encode_faces``' bytes."""
    with np.load(io.BytesIO(lzma.decompress(packed)), allow_pickle=False) as archive:
        images = np.cumsum(archive["deltas"], axis=1, dtype=np.uint8)
        names = archive["split_names"]
        return images, archive["labels"].astype(np.int64), names[archive["split_index"]]


def write_pieces(packed: bytes, folder: Path, parts: int) -> int:
    """Cut ``packed`` into ``folder``/data_1 ... data_N (the last one holds the checksum); the piece size."""
    for old in folder.glob("data_*"):
        shutil.rmtree(old)
    size = -(-len(packed) // parts)
    for index in range(parts):
        piece = folder / f"data_{index + 1}"
        piece.mkdir(parents=True)
        (piece / f"part-{index:02d}").write_bytes(packed[index * size:(index + 1) * size])
    digest = hashlib.sha256(packed).hexdigest()
    (folder / f"data_{parts}" / f"{PACKED_NAME}.sha256").write_text(f"{digest}  {PACKED_NAME}\n")
    return size


def download_wheels(folder: Path) -> None:
    """Keras (the version requirements.txt pins) and its two missing dependencies, for Python 3.12."""
    keras_pin = next(line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
                     if re.match(r"keras==", line.strip()))
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "--python-version", "3.12", "--implementation", "cp", "--abi", "cp312",
                    "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
                    "-d", str(folder), keras_pin, *EXTRA_WHEELS], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(ROOT.parent / "shared" / "data" / "fer2013.csv.gz"))
    parser.add_argument("--parts", type=int, default=3)
    parser.add_argument("--no-wheels", action="store_true", help="keep .device/wheels as it is")
    args = parser.parse_args()

    dataset = load_dataset(args.data)
    packed = encode_faces(dataset.images, dataset.labels, dataset.splits)
    images, labels, splits = decode_faces(packed)
    if not (np.array_equal(images, dataset.images) and np.array_equal(labels, dataset.labels)
            and np.array_equal(splits.astype(str), dataset.splits.astype(str))):
        raise SystemExit(f"{args.data}: the packed faces do not decode to the same data; nothing written")

    size = write_pieces(packed, OUT, args.parts)
    if not args.no_wheels:
        shutil.rmtree(OUT / "wheels", ignore_errors=True)
        download_wheels(OUT / "wheels")
    print(f"{len(dataset)} faces from {args.data}: {len(packed) / 1e6:.1f} MB in {args.parts} pieces "
          f"of {size / 1e6:.1f} MB under {OUT}")


if __name__ == "__main__":
    main()
