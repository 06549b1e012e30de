"""fer_core.data: loading FER2013 CSVs and image folders, validation messages, the cache."""

from __future__ import annotations

import gzip
import lzma
import os
import time

import numpy as np
import pytest
from conftest import SHARED_CSV, csv_text
from PIL import Image

from fer_core.data.loading import load_dataset
from fer_core.errors import DatasetError
from fer_core.labels import EMOTIONS


def test_csv_loads_images_labels_and_splits(tiny_csv, cache_dir, faces_and_labels):
    images, labels = faces_and_labels
    data = load_dataset(tiny_csv, cache_dir=cache_dir)
    assert data.images.shape == (len(labels), 48, 48) and data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.labels, labels)
    assert set(data.split_names) == {"Training", "PublicTest"}
    assert data.class_names == EMOTIONS
    assert data.fingerprint.startswith("sha256:")


COMPRESSIONS = pytest.mark.parametrize("suffix, compress, name", [(".gz", gzip.compress, "gzip"),
                                                                   (".xz", lzma.compress, "xz")])


@COMPRESSIONS
def test_compressed_csv_gives_same_content_as_plain(tmp_path, tiny_csv, cache_dir, suffix, compress, name):
    packed_path = tmp_path / f"tiny.csv{suffix}"
    packed_path.write_bytes(compress(tiny_csv.read_bytes()))
    plain = load_dataset(tiny_csv, cache_dir=cache_dir)
    packed = load_dataset(packed_path, cache_dir=cache_dir)
    np.testing.assert_array_equal(plain.images, packed.images)
    assert plain.fingerprint == packed.fingerprint


@COMPRESSIONS
def test_cut_short_compressed_file_is_reported(tmp_path, tiny_csv, cache_dir, suffix, compress, name):
    cut = tmp_path / f"cut.csv{suffix}"
    cut.write_bytes(compress(tiny_csv.read_bytes())[:-50])
    with pytest.raises(DatasetError, match="cut short or corrupt"):
        load_dataset(cut, cache_dir=cache_dir)


@COMPRESSIONS
def test_compressed_name_on_a_plain_file_is_reported(tmp_path, cache_dir, suffix, compress, name):
    path = tmp_path / f"fake.csv{suffix}"
    path.write_text("not compressed at all")
    with pytest.raises(DatasetError, match=f"not {name}-compressed"):
        load_dataset(path, cache_dir=cache_dir)


def test_header_with_leading_spaces_and_capitals_is_accepted(tmp_path, faces_and_labels, cache_dir):
    path = tmp_path / "spaces.csv"
    path.write_text(csv_text(*faces_and_labels, header="Emotion, Pixels, Usage"))
    assert len(load_dataset(path, cache_dir=cache_dir)) == len(faces_and_labels[1])


def test_challenge_train_csv_without_usage_is_all_training(tmp_path, faces_and_labels, cache_dir):
    path = tmp_path / "train.csv"
    path.write_text(csv_text(*faces_and_labels, header="emotion,pixels"))
    data = load_dataset(path, cache_dir=cache_dir)
    assert data.split_names == ["Training"]


def test_second_load_comes_from_the_cache(tiny_csv, cache_dir):
    first = load_dataset(tiny_csv, cache_dir=cache_dir)
    assert list(cache_dir.glob("*.npz")), "the parsed arrays should be cached"
    second = load_dataset(tiny_csv, cache_dir=cache_dir)
    np.testing.assert_array_equal(first.images, second.images)
    assert first.fingerprint == second.fingerprint


def test_changed_file_is_parsed_again_not_served_stale(tiny_csv, cache_dir, faces_and_labels):
    load_dataset(tiny_csv, cache_dir=cache_dir)
    images, labels = faces_and_labels
    tiny_csv.write_text(csv_text(images[:5], labels[:5]))
    os.utime(tiny_csv, (time.time() + 5, time.time() + 5))
    assert len(load_dataset(tiny_csv, cache_dir=cache_dir)) == 5


def _write_rows(tmp_path, rows: list[str], name="bad.csv", header="emotion,pixels,Usage"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _good_pixels(n=2304):
    return " ".join(["128"] * n)


@pytest.mark.parametrize("pixels, expected", [
    (_good_pixels(2303), "expected 2304 pixel values, found 2303"),
    (_good_pixels(2305), "expected 2304 pixel values, found 2305"),
    (_good_pixels(2303) + " x7", "not a whole number"),
    (_good_pixels(2303) + " 300", "outside 0..255"),
], ids=["2303 values", "2305 values", "non-numeric", "value 300"])
def test_bad_pixels_name_the_file_the_line_and_the_expectation(tmp_path, pixels, expected, cache_dir):
    path = _write_rows(tmp_path, [f"3,{_good_pixels()},Training", f"3,{pixels},Training"])
    with pytest.raises(DatasetError) as error:
        load_dataset(path, cache_dir=cache_dir)
    message = str(error.value)
    assert str(path) in message and "line 3" in message and expected in message


@pytest.mark.parametrize("label", ["7", "-1", "happy"])
def test_label_outside_0_to_6_is_reported(tmp_path, label, cache_dir):
    path = _write_rows(tmp_path, [f"{label},{_good_pixels()},Training"])
    with pytest.raises(DatasetError, match=r"line 2: emotion .* (outside 0..6|not a whole number)"):
        load_dataset(path, cache_dir=cache_dir)


def test_unknown_usage_is_reported(tmp_path, cache_dir):
    path = _write_rows(tmp_path, [f"1,{_good_pixels()},Validation"])
    with pytest.raises(DatasetError, match="line 2: Usage 'Validation' is unknown"):
        load_dataset(path, cache_dir=cache_dir)


def test_missing_column_is_reported_with_what_was_found(tmp_path, cache_dir):
    path = _write_rows(tmp_path, [f"{_good_pixels()},Training"], header="pixels,Usage")
    with pytest.raises(DatasetError, match="line 1: expected a header with columns 'emotion' and 'pixels'"):
        load_dataset(path, cache_dir=cache_dir)


def test_empty_file_is_reported(tmp_path, cache_dir):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DatasetError, match="empty"):
        load_dataset(path, cache_dir=cache_dir)


def test_header_only_file_is_reported_as_truncated(tmp_path, cache_dir):
    path = _write_rows(tmp_path, [])
    with pytest.raises(DatasetError, match="no data rows"):
        load_dataset(path, cache_dir=cache_dir)


def test_binary_garbage_is_reported_as_not_a_csv(tmp_path, cache_dir):
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DatasetError, match="not a text CSV"):
        load_dataset(path, cache_dir=cache_dir)


def test_missing_path_is_reported(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(tmp_path / "nope.csv")


def test_skip_bad_rows_counts_what_it_skipped(tmp_path, cache_dir):
    rows = [f"3,{_good_pixels()},Training", f"9,{_good_pixels()},Training",
            f"2,{_good_pixels(2000)},Training", f"4,{_good_pixels()},PublicTest"]
    path = _write_rows(tmp_path, rows)
    data = load_dataset(path, cache_dir=cache_dir, skip_bad_rows=True)
    assert len(data) == 2
    assert data.skipped == {"bad emotion label": 1, "bad pixels": 1}


def _write_folder(root, splits=("train", "test"), classes=EMOTIONS, per_class=2, suffix=".png"):
    rng = np.random.default_rng(1)
    for split in splits:
        for name in classes:
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                Image.fromarray(rng.integers(0, 255, (48, 48), dtype=np.uint8)).save(folder / f"img{i}{suffix}")


def test_image_folder_release_loads_with_splits(tmp_path):
    _write_folder(tmp_path / "fer")
    data = load_dataset(tmp_path / "fer")
    assert len(data) == 2 * 7 * 2
    assert set(data.split_names) == {"Training", "Test"}
    assert data.images.shape[1:] == (48, 48)


def test_image_folder_class_names_are_case_insensitive(tmp_path):
    _write_folder(tmp_path / "fer", classes=[c.capitalize() for c in EMOTIONS], per_class=1)
    data = load_dataset(tmp_path / "fer")
    assert sorted(set(data.labels.tolist())) == list(range(7))


def test_image_folder_file_prefix_gives_the_original_split(tmp_path):
    _write_folder(tmp_path / "fer", splits=("test",), per_class=1, suffix=".jpg")
    for file in (tmp_path / "fer" / "test" / "happy").iterdir():
        file.rename(file.with_name("PrivateTest_" + file.name))
    data = load_dataset(tmp_path / "fer")
    assert "PrivateTest" in data.split_names


def test_image_folder_unknown_class_and_junk_files(tmp_path):
    _write_folder(tmp_path / "fer", per_class=1)
    (tmp_path / "fer" / "train" / "contempt").mkdir()
    with pytest.raises(DatasetError, match="contempt: unknown class folder"):
        load_dataset(tmp_path / "fer")
    (tmp_path / "fer" / "train" / "happy" / "notes.txt").write_text("hi")
    (tmp_path / "fer" / "train" / "sad" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    data = load_dataset(tmp_path / "fer", skip_bad_rows=True)
    assert data.skipped == {"unknown class folder": 1, "not an image": 1, "unreadable image": 1}
    (tmp_path / "fer" / "train" / "contempt").rmdir()
    (tmp_path / "fer" / "train" / "happy" / "notes.txt").unlink()
    with pytest.raises(DatasetError, match=r"broken\.jpg"):
        load_dataset(tmp_path / "fer")


def test_split_subset_and_unknown_split(tiny_csv, cache_dir):
    data = load_dataset(tiny_csv, cache_dir=cache_dir)
    assert set(data.subset("PublicTest").splits.tolist()) == {"PublicTest"}
    with pytest.raises(DatasetError, match="no rows in split 'PrivateTest'"):
        data.subset("PrivateTest")


@pytest.mark.skipif(not SHARED_CSV.exists(), reason="../shared/data is absent")
@pytest.mark.slow
def test_real_fer2013_has_the_documented_counts():
    data = load_dataset(SHARED_CSV)
    counts = data.class_counts()
    assert sum(counts["Training"].values()) == 28709 and sum(counts["PublicTest"].values()) == 3589
    assert counts["Training"]["disgust"] == 436


def test_the_dataset_row_limit_is_enforced_with_the_limit_in_the_message(tiny_csv, tmp_path, cache_dir):
    from fer_core.limits import Limits

    with pytest.raises(DatasetError, match=r"line 4: more than 2 rows \(the limit on dataset rows\)"):
        load_dataset(tiny_csv, cache_dir=cache_dir, limits=Limits(max_dataset_rows=2))
    _write_folder(tmp_path / "fer", per_class=1)
    with pytest.raises(DatasetError, match="more than 3 images"):
        load_dataset(tmp_path / "fer", limits=Limits(max_dataset_rows=3))
