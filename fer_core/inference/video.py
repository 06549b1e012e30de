"""Videos: frames sampled at a steady rate, every face labelled and followed from frame to frame.

Frames are decoded with OpenCV (the wheel's FFmpeg) one at a time and dropped once labelled, so
memory does not grow with the video's length; frames between two samples are skipped without
being converted. A face keeps its number while it stays in view: each face of a sample joins
the track of the previous sample's face it overlaps most (intersection over union), or starts a
new one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from fer_core.errors import ImageError
from fer_core.labels import EMOTIONS
from fer_core.limits import DEFAULT_LIMITS, Limits
from fer_core.quiet import native_stderr_silenced

VIDEO_SUFFIXES = ("mp4", "webm", "mov", "avi", "mkv", "m4v")


@dataclass(frozen=True)
class VideoConfig:
    """How a video is sampled and its faces followed."""

    samples_per_second: float = 5.0  # frames labelled per second of video
    min_overlap: float = 0.3  # intersection over union for a face to continue a track
    forget_after_s: float = 1.0  # a track unseen this long is closed; a face there later gets a new number

    def __post_init__(self) -> None:
        if not 0 < self.samples_per_second <= 60:
            raise ImageError(f"samples per second must be between 0 and 60; got {self.samples_per_second:g}")


@dataclass
class VideoRow:
    """One face in one sampled frame."""

    time_s: float
    frame: int
    face_id: int  # the track's number, from 1, in order of first appearance
    box: tuple[int, int, int, int]
    label: str
    confidence: float
    uncertain: bool = False
    probabilities: dict[str, float] = field(default_factory=dict)

    def to_record(self) -> dict:
        """A flat dict: the CSV row."""
        x, y, w, h = self.box
        record = {"time_s": round(self.time_s, 3), "frame": self.frame, "face_id": self.face_id, "x": x, "y": y,
                  "width": w, "height": h, "label": self.label, "confidence": round(self.confidence, 4),
                  "uncertain": self.uncertain}
        record.update({name: round(self.probabilities[name], 4) for name in EMOTIONS})
        return record


VIDEO_CSV_COLUMNS = list(VideoRow(0.0, 0, 1, (0, 0, 0, 0), EMOTIONS[0], 0.0,
                                  probabilities=dict.fromkeys(EMOTIONS, 0.0)).to_record())


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video."""

    fps: float
    frames: int
    width: int
    height: int

    @property
    def seconds(self) -> float:
        return self.frames / self.fps if self.fps else 0.0

    def labelled_seconds(self, limits: Limits) -> float:
        """How much of the video is labelled under ``limits``: all of it, or its first ``max_video_seconds``."""
        return min(self.seconds, limits.max_video_seconds) if limits.max_video_seconds else self.seconds


def is_video(path: str | os.PathLike) -> bool:
    """Whether the file's name says it is a video."""
    return Path(path).suffix.lower().lstrip(".") in VIDEO_SUFFIXES


def open_video(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS):
    """The opened ``cv2.VideoCapture`` and what it holds; ImageError for a missing, oversized or unreadable file."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such video file")
    size = path.stat().st_size
    if size > limits.max_video_bytes:
        raise ImageError(f"{path}: {size / 1e6:,.0f} MB is over the {limits.max_video_bytes / 1e6:,.0f} MB limit "
                         "for a video")
    with native_stderr_silenced():  # FFmpeg explains a broken file on stderr; the error below says it
        capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise ImageError(f"{path}: not a video this build of OpenCV can read (expected mp4, webm, mov, avi or mkv)")
    info = VideoInfo(fps=float(capture.get(cv2.CAP_PROP_FPS) or 0.0), frames=int(capture.get(cv2.CAP_PROP_FRAME_COUNT)),
                     width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    if info.fps <= 0 or info.width <= 0 or info.height <= 0:
        capture.release()
        raise ImageError(f"{path}: the video has no readable frames (damaged, or an unsupported codec)")
    if info.width * info.height > limits.max_image_pixels:
        capture.release()
        raise ImageError(f"{path}: {info.width}x{info.height} frames are over the limit of "
                         f"{limits.max_image_pixels:,} pixels")
    return capture, info


def video_info(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> VideoInfo:
    """What a video holds, checked as ``open_video`` checks it."""
    capture, info = open_video(path, limits)
    capture.release()
    return info


def sampled_frames(path: str | os.PathLike, config: VideoConfig = VideoConfig(),
                   limits: Limits = DEFAULT_LIMITS) -> Iterator[tuple[float, int, np.ndarray]]:
    """(time in seconds, frame number, H x W x 3 RGB frame) for the frames at ``config``'s rate."""
    capture, info = open_video(path, limits)
    return _frames(path, capture, info, config, limits)


def _frames(path, capture, info: VideoInfo, config: VideoConfig, limits: Limits) -> Iterator[tuple[float, int, np.ndarray]]:
    """The sampled frames of an opened video; the capture is released when they are done."""
    import cv2

    step = max(info.fps / config.samples_per_second, 1.0)
    try:
        index, next_sample, yielded = 0, 0.0, 0
        last = limits.max_video_seconds * info.fps if limits.max_video_seconds else float("inf")
        while index < last:
            if index + 0.5 >= next_sample:
                ok, frame = capture.read()
                if not ok:
                    break
                yield index / info.fps, index, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                yielded += 1
                next_sample += step
            elif not capture.grab():  # decoded but not converted: the frames between two samples
                break
            index += 1
        if yielded == 0:
            raise ImageError(f"{path}: the video has no readable frames (damaged, or an unsupported codec)")
    finally:
        capture.release()


def box_overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    width = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    height = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = width * height
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


class FaceTracker:
    """Gives each face a number that it keeps while it stays in view (greedy IoU matching)."""

    def __init__(self, min_overlap: float = 0.3, forget_after_s: float = 1.0):
        self.min_overlap = min_overlap
        self.forget_after_s = forget_after_s
        self._tracks: dict[int, tuple[tuple[int, int, int, int], float]] = {}  # id -> (last box, last seen)
        self._next_id = 1

    def assign(self, boxes: list[tuple[int, int, int, int]], time_s: float) -> list[int]:
        """The track number of each box seen at ``time_s``, in the boxes' order."""
        self._tracks = {k: v for k, v in self._tracks.items() if time_s - v[1] <= self.forget_after_s}
        pairs = sorted(((box_overlap(box, last), i, track) for i, box in enumerate(boxes)
                        for track, (last, _) in self._tracks.items()), reverse=True)
        ids: dict[int, int] = {}
        taken: set[int] = set()
        for overlap, i, track in pairs:
            if overlap < self.min_overlap:
                break
            if i not in ids and track not in taken:
                ids[i] = track
                taken.add(track)
        for i in range(len(boxes)):
            if i not in ids:
                ids[i] = self._next_id
                self._next_id += 1
        for i, box in enumerate(boxes):
            self._tracks[ids[i]] = (box, time_s)
        return [ids[i] for i in range(len(boxes))]


def label_video(predictor, path: str | os.PathLike, config: VideoConfig = VideoConfig(), *,
                on_frame: Callable[[float, float], None] | None = None) -> Iterator[VideoRow]:
    """Every face of every sampled frame, as rows, streamed; ``on_frame(time_s, duration_s)`` after each frame."""
    limits = predictor.config.limits
    capture, info = open_video(path, limits)  # the error, if any, before the first row
    tracker = FaceTracker(config.min_overlap, config.forget_after_s)
    for time_s, index, rgb in _frames(path, capture, info, config, limits):
        faces = predictor.predict(rgb, name=f"{Path(path).name} at {time_s:.1f} s")
        for face, face_id in zip(faces, tracker.assign([face.box for face in faces], time_s)):
            yield VideoRow(time_s, index, face_id, face.box, face.label, face.confidence, face.uncertain,
                           face.probabilities)
        if on_frame:
            on_frame(time_s, info.labelled_seconds(limits))
