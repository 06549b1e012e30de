"""Photos read from files and folders: found once each, in order; wrong sources named in the error."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from skimage import data as samples

from fer_core.data.photo_folders import photo_files, read_photos
from fer_core.errors import ImageError


def test_photos_without_a_face_are_found_in_folders_once_each_and_in_order(tmp_path):
    (tmp_path / "b").mkdir()
    for name in ("b/coffee.png", "a.jpg"):
        cv2.imwrite(str(tmp_path / name), cv2.cvtColor(samples.coffee(), cv2.COLOR_RGB2BGR))
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / "b" / "same.png").symlink_to(tmp_path / "b" / "coffee.png")
    assert photo_files((str(tmp_path),)) == [tmp_path / "a.jpg", tmp_path / "b" / "coffee.png"]
    assert photo_files((str(tmp_path / "a.jpg"), str(tmp_path / "b"))) == [tmp_path / "a.jpg", tmp_path / "b" / "coffee.png"]


@pytest.mark.parametrize("make, message", [
    (lambda root: root / "missing", "no such file or folder (expected photos)"),
    (lambda root: (root / "empty").mkdir() or root / "empty", "no photo (.jpg"),
])
def test_a_wrong_source_of_photos_is_named_in_the_error(tmp_path, make, message):
    source = make(tmp_path)
    with pytest.raises(ImageError, match=re.escape(message)) as error:
        photo_files((str(source),))
    assert str(source) in str(error.value)


def test_a_file_that_is_no_photo_is_named_in_the_error(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a JPEG")
    with pytest.raises(ImageError, match="broken.jpg: not a readable photo"):
        read_photos([broken], 100)


def test_large_photos_are_shrunk_to_the_longest_side_asked_for(tmp_path):
    cv2.imwrite(str(tmp_path / "coffee.png"), cv2.cvtColor(samples.coffee(), cv2.COLOR_RGB2BGR))
    photo, = read_photos([tmp_path / "coffee.png"], 300)
    assert photo.shape == (200, 300, 3) and photo.dtype == np.uint8
    assert np.abs(photo.mean((0, 1)) - samples.coffee().mean((0, 1))).max() < 2  # RGB, not BGR
