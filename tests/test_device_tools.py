"""tools/device: the packed dataset travels in pieces and comes back as the same faces."""

from __future__ import annotations

import os
import shutil
import subprocess
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
    with pytest.raises(SystemExit, match="carry every .device/data_N"):
        join_pieces(tmp_path)


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_aside_takes_the_model_files_out_of_the_tree_and_puts_them_back(tmp_path):
    repo = tmp_path / "repo"
    (repo / "tools" / "device").mkdir(parents=True)
    shutil.copy(REPO / "tools" / "device" / "aside.sh", repo / "tools" / "device")
    (repo / "models").mkdir()
    (repo / "models" / "default.keras").write_bytes(b"weights")
    (repo / "models" / "default.json").write_text("{}")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")

    out = subprocess.run(["bash", "tools/device/aside.sh", "out"], cwd=repo, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert not (repo / "models" / "default.keras").exists()
    assert (repo / "models" / "default.json").exists()  # the card is small and stays

    back = subprocess.run(["bash", "tools/device/aside.sh", "back"], cwd=repo, capture_output=True, text=True)
    assert back.returncode == 0, back.stderr
    assert (repo / "models" / "default.keras").read_bytes() == b"weights"
    assert not (repo / ".device" / "aside").exists()


@pytest.mark.parametrize("jobs_text, env, message", [
    ("--arch seed_cnn\n", {}, "--all needs CALL_SECONDS"),
    ("# only a comment\n", {"CALL_SECONDS": "300"}, "no runs in it"),
])
def test_train_sh_all_refuses_before_it_installs_anything(tmp_path, jobs_text, env, message):
    jobs = tmp_path / "jobs.txt"
    jobs.write_text(jobs_text)
    done = subprocess.run(["bash", str(REPO / "tools" / "device" / "train.sh"), "--all", str(jobs)],
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr


@pytest.mark.parametrize("jobs_file", sorted((REPO / "tools" / "device").glob("jobs_*.txt")), ids=lambda p: p.name)
def test_every_jobs_file_line_is_a_valid_train_command(jobs_file):
    """A typo in a jobs file would cost a GPU session's only training call: parse each line here."""
    from dataclasses import fields

    from fer_core.cli import build_parser
    from fer_core.trainer import TrainConfig

    lines = [line for line in jobs_file.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert lines
    for line in lines:
        args = build_parser().parse_args(["train", "--data", "d.csv", "--out", "m.keras", "--epochs", "100",
                                          *line.split()])
        given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}
        assert TrainConfig(**given).arch == given["arch"]
