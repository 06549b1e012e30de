"""fer_core.inference.batch and `predict DIR_OR_ZIP --csv`: every face a row, bad photos a row, limits, streaming."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from fer_core.cli import main
from fer_core.errors import FerError, ImageError
from fer_core.inference.batch import (
    CSV_COLUMNS,
    NO_FACE,
    UNREADABLE,
    label_photos,
    photos_in,
    write_csv,
    zip_photos,
)
from fer_core.inference.predictor import Predictor
from fer_core.limits import Limits


@pytest.fixture
def photo_folder(tmp_path, astronaut_jpeg, cat_png):
    """astronaut.jpg, cat.png, broken.jpg, notes.txt and nested/astronaut.jpg."""
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    (folder / "astronaut.jpg").write_bytes(astronaut_jpeg.read_bytes())
    (folder / "nested" / "astronaut.jpg").write_bytes(astronaut_jpeg.read_bytes())
    (folder / "cat.png").write_bytes(cat_png.read_bytes())
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    (folder / "notes.txt").write_text("not a photo")
    return folder


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_folder_gives_a_row_per_face_and_a_row_per_bad_photo(tiny_model_path, photo_folder):
    names = [name for name, _ in photos_in(photo_folder)]
    assert names == ["astronaut.jpg", "broken.jpg", "cat.png", "nested/astronaut.jpg"]  # sorted, no notes.txt
    rows = list(label_photos(Predictor.load(tiny_model_path), photos_in(photo_folder)))
    by_file = {row.file: row for row in rows}
    assert by_file["astronaut.jpg"].face == 1 and by_file["astronaut.jpg"].label in by_file["astronaut.jpg"].probabilities
    assert by_file["cat.png"].label == NO_FACE and by_file["cat.png"].face is None
    assert by_file["broken.jpg"].label == UNREADABLE and "broken.jpg" in by_file["broken.jpg"].error
    assert sum(abs(sum(row.probabilities.values()) - 1) < 1e-4 for row in rows if row.probabilities) == 2


def test_photos_are_read_one_at_a_time(tiny_model_path, astronaut_jpeg):
    pulled = []

    def photos():
        for index in range(5):
            pulled.append(index)
            yield f"{index}.jpg", astronaut_jpeg.read_bytes()

    rows = label_photos(Predictor.load(tiny_model_path), photos())
    next(rows)
    assert pulled == [0]  # the first row comes before the second photo is read


def test_zip_limits_are_enforced_with_the_limit_in_the_message(astronaut_jpeg):
    photo = astronaut_jpeg.read_bytes()
    three = _zip({"a.jpg": photo, "b.jpg": photo, "c.jpg": photo, "readme.txt": b"hi"})
    assert [name for name, _ in zip_photos(three)] == ["a.jpg", "b.jpg", "c.jpg"]
    with pytest.raises(ImageError, match="3 photos is over the limit of 2 per batch"):
        list(zip_photos(three, "three.zip", Limits(max_batch_photos=2)))
    with pytest.raises(ImageError, match="over the 0 MB limit for one .zip"):
        list(zip_photos(three, "three.zip", Limits(max_zip_bytes=1000)))
    (name, error), *_ = zip_photos(three, "three.zip", Limits(max_upload_bytes=1000))
    assert isinstance(error, ImageError) and "a.jpg" in str(error) and "limit" in str(error)
    with pytest.raises(ImageError, match="not a readable .zip"):
        list(zip_photos(b"PK not a zip", "fake.zip"))


def test_write_csv_leaves_nothing_behind_when_the_batch_fails(tmp_path):
    def rows():
        raise FerError("the batch broke")
        yield  # pragma: no cover

    target = tmp_path / "out.csv"
    target.write_text("previous results")
    with pytest.raises(FerError, match="the batch broke"):
        write_csv(rows(), target)
    assert target.read_text() == "previous results" and list(tmp_path.iterdir()) == [target]
    with pytest.raises(FerError, match="cannot write the CSV"):
        write_csv(iter(()), tmp_path / "missing-folder" / "out.csv")


def test_cli_labels_a_folder_and_a_zip_into_csv(tiny_model_path, photo_folder, astronaut_jpeg, tmp_path, capsys):
    out = tmp_path / "faces.csv"
    assert main(["predict", str(photo_folder), "--model", str(tiny_model_path), "--csv", str(out)]) == 0
    assert f"wrote {out}: 2 faces" in capsys.readouterr().out
    with open(out, newline="") as handle:
        records = list(csv.DictReader(handle))
    assert list(records[0]) == CSV_COLUMNS and len(records) == 4
    assert {r["label"] for r in records} >= {NO_FACE, UNREADABLE}

    archive = tmp_path / "photos.zip"
    archive.write_bytes(_zip({"one.jpg": astronaut_jpeg.read_bytes(), "two.jpg": astronaut_jpeg.read_bytes()}))
    assert main(["predict", str(archive), "--model", str(tiny_model_path)]) == 0  # CSV to stdout
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split(",") == CSV_COLUMNS and len(lines) == 3


def test_cli_csv_needs_a_folder_or_zip(tiny_model_path, astronaut_jpeg, tmp_path, capsys):
    assert main(["predict", str(astronaut_jpeg), "--model", str(tiny_model_path), "--csv", str(tmp_path / "x.csv")]) == 2
    assert "--csv is for a folder, a .zip of photos or a video" in capsys.readouterr().err
