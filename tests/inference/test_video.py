"""fer_core.inference.video and `predict VIDEO --csv`: sampled frames, faces followed, a CSV row a face."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
from conftest import CLIP_SECONDS as SECONDS
from conftest import CLIP_SIZE as SIZE
from conftest import REPO, write_clip

from fer_core.errors import ImageError
from fer_core.inference.predictor import Predictor
from fer_core.inference.video import (
    VIDEO_CSV_COLUMNS,
    FaceTracker,
    VideoConfig,
    box_overlap,
    label_video,
    open_video,
    sampled_frames,
    video_info,
)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    write_clip(path)
    return path


def test_frames_are_sampled_at_the_chosen_rate(clip):
    times = [time_s for time_s, _, _ in sampled_frames(clip, VideoConfig(samples_per_second=5))]
    assert len(times) == 5 * SECONDS and times[:3] == pytest.approx([0.0, 0.2, 0.4])
    frame = next(sampled_frames(clip))[2]
    assert frame.shape == (SIZE[1], SIZE[0], 3) and frame.dtype == np.uint8


def test_each_face_keeps_its_number_while_it_stays_in_view(clip):
    rows = list(label_video(Predictor.load(), clip, VideoConfig(samples_per_second=5)))
    by_time: dict[float, list] = {}
    for row in rows:
        by_time.setdefault(row.time_s, []).append(row)
    assert len(by_time) == 5 * SECONDS  # a face found in every sampled frame
    left = {row.face_id for row in rows if row.box[0] < SIZE[0] / 2}
    right = {row.face_id for row in rows if row.box[0] >= SIZE[0] / 2}
    assert left == {1} and right == {2}
    assert min(row.time_s for row in rows if row.face_id == 2) == pytest.approx(2.0)
    assert all(abs(sum(row.probabilities.values()) - 1) < 1e-4 for row in rows)


def test_the_command_line_writes_a_row_per_face_and_frame(clip, tmp_path):
    out = tmp_path / "faces.csv"
    done = subprocess.run([sys.executable, "-m", "fer_core", "predict", str(clip), "--csv", str(out),
                           "--samples-per-second", "2"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {out}: ") and "Traceback" not in done.stderr
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == VIDEO_CSV_COLUMNS
    assert {row["time_s"] for row in rows} == {str(t / 2) for t in range(2 * SECONDS)}
    assert {row["face_id"] for row in rows} == {"1", "2"}


@pytest.mark.parametrize("content, expected", [
    (b"\x00\x01not a video at all" * 100, "not a video this build of OpenCV can read"),
    (b"", "not a video this build of OpenCV can read")], ids=["random bytes", "empty"])
def test_a_file_that_is_not_a_video_gets_one_line(tmp_path, content, expected):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(content)
    with pytest.raises(ImageError, match=expected):
        open_video(bad)
    done = subprocess.run([sys.executable, "-m", "fer_core", "predict", str(bad), "--csv", str(tmp_path / "o.csv")],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and expected in done.stderr
    assert not (tmp_path / "o.csv").exists()


def test_boxes_overlap_by_their_intersection_over_union():
    assert box_overlap((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_overlap((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert box_overlap((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0


def test_the_tracker_matches_by_overlap_and_forgets_a_face_gone_too_long():
    tracker = FaceTracker(min_overlap=0.3, forget_after_s=1.0)
    assert tracker.assign([(0, 0, 100, 100), (300, 0, 100, 100)], 0.0) == [1, 2]
    assert tracker.assign([(310, 0, 100, 100), (5, 0, 100, 100)], 0.2) == [2, 1]  # order does not matter
    assert tracker.assign([(5, 0, 100, 100)], 0.4) == [1]
    assert tracker.assign([(300, 0, 100, 100)], 2.0) == [3]  # face 2 was gone for 1.8 s


def test_a_time_limit_labels_only_the_start_of_a_video(clip):
    from fer_core.limits import APP_LIMITS, Limits

    limits = Limits(max_video_seconds=1.5)
    times = [time_s for time_s, _, _ in sampled_frames(clip, VideoConfig(samples_per_second=5), limits)]
    assert times == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4])
    info = video_info(clip)
    assert info.labelled_seconds(limits) == 1.5 and info.labelled_seconds(Limits()) == pytest.approx(SECONDS)
    assert APP_LIMITS.max_video_seconds == 300  # the hosted app: the first five minutes
