"""tools/device: the packed dataset travels in pieces and comes back as the same faces."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from fer_core.data import load_dataset

from conftest import REPO

sys.path.insert(0, str(REPO / "tools" / "device"))

from pack import decode_faces, encode_faces, write_pieces  # noqa: E402
from unpack import join_pieces, write_csv  # noqa: E402


def test_packed_faces_decode_to_the_same_faces_labels_and_splits(faces_and_labels):
    images, labels = faces_and_labels
    splits = np.array(["Training", "PublicTest"] * (len(labels) // 2) + ["Training"] * (len(labels) % 2))
    decoded, decoded_labels, decoded_splits = decode_faces(encode_faces(images, labels, splits))
    assert decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, images)
    np.testing.assert_array_equal(decoded_labels, labels)
    assert list(decoded_splits) == list(splits)


def test_pieces_joined_give_a_csv_with_the_original_fingerprint(tmp_path, tiny_csv, cache_dir):
    original = load_dataset(tiny_csv, cache_dir=cache_dir)
    packed = encode_faces(original.images, original.labels, original.splits)
    write_pieces(packed, tmp_path / "device", parts=3)
    assert sorted(p.name for p in (tmp_path / "device").iterdir()) == ["data_1", "data_2", "data_3"]

    images, labels, splits = decode_faces(join_pieces(tmp_path / "device"))
    write_csv(tmp_path / "back.csv", images, labels, splits)
    restored = load_dataset(tmp_path / "back.csv", cache_dir=cache_dir)
    assert restored.fingerprint == original.fingerprint
    assert len(restored) == len(original)


@pytest.mark.parametrize("missing", ["data_1", "data_3"])
def test_a_missing_piece_is_named_not_decoded(tmp_path, faces_and_labels, missing):
    images, labels = faces_and_labels
    write_pieces(encode_faces(images, labels, np.array(["Training"] * len(labels))), tmp_path, parts=3)
    for path in (tmp_path / missing).iterdir():
        path.unlink()
    with pytest.raises(SystemExit, match="carry each .device/data_N in its own call"):
        join_pieces(tmp_path)
