"""``predict``: find the faces in a photo and classify their expressions; a folder or .zip to a CSV."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from fer_core.cli.common import add_model_option, warn_if_slow
from fer_core.errors import FerError
from fer_core.inference.detector import DETECTORS
from fer_core.inference.video import is_video
from fer_core.limits import DEFAULT_LIMITS


def add_parser(commands) -> None:
    parser = commands.add_parser("predict", help="find the faces in a photo and classify their expressions")
    parser.add_argument("image", help="a photo (jpg, png, webp, bmp, ...), a folder or .zip of photos, or a video "
                                      "(mp4, webm, mov, avi, mkv)")
    parser.add_argument("--csv", help="for a folder, a .zip or a video: write one row per face to this CSV file")
    parser.add_argument("--samples-per-second", type=float, default=5.0, metavar="N",
                        help="for a video: frames labelled per second of video (default: 5)")
    parser.add_argument("--explain", metavar="OUT.png", help="also write the photo with Grad-CAM heat maps")
    parser.add_argument("--explain-class", metavar="CLASS", help="explain this class instead of the predicted one")
    add_model_option(parser)
    parser.add_argument("--whole-image", action="store_true", help="classify the whole picture when no face is found")
    parser.add_argument("--max-batch-pixels", type=int, default=DEFAULT_LIMITS.max_batch_pixels, metavar="N",
                        help="for a folder or .zip: photos past this many pixels in all are not labelled "
                             f"(default {DEFAULT_LIMITS.max_batch_pixels:,})")
    parser.add_argument("--detector", choices=DETECTORS, default="yunet",
                        help="the face detector: YuNet (default; finds turned and small faces) or OpenCV's Haar "
                             "cascade")
    parser.add_argument("--json", action="store_true", help='print {"faces": [...]} as JSON')


def run(args) -> int:
    from fer_core.inference.detector import DetectorConfig
    from fer_core.inference.predictor import Predictor, PredictorConfig

    refuse_before_loading(args)
    limits = replace(DEFAULT_LIMITS, max_batch_pixels=args.max_batch_pixels)
    predictor = Predictor.load(args.model, PredictorConfig(detector=DetectorConfig(kind=args.detector), limits=limits))
    warn_if_slow(predictor)
    target = Path(args.image)
    if is_many(target):
        return label_many(args, predictor)
    if is_video(target):
        return label_video_file(args, predictor)
    faces = predictor.predict(args.image, whole_image_if_no_face=args.whole_image)
    if args.explain:
        write_explanation(args, predictor, faces)
    if faces.capped:
        print(f"note: {args.image}: {faces.found} faces found; the {len(faces)} largest were classified "
              f"(the limit is {predictor.config.limits.max_faces} faces per photo)", file=sys.stderr)
    if args.json:
        print(json.dumps({"faces": [face.to_dict() for face in faces], "faces_found": faces.found}))
        return 0
    if not faces:
        print(f"{args.image}: no face found (try --whole-image)")
    for index, face in enumerate(faces, start=1):
        where = "whole image" if face.whole_image else f"box {face.box}"
        print(f"face {index} ({where}): {face.label} {face.confidence:.0%}")
    return 0


def is_many(target: Path) -> bool:
    """Whether ``target`` is a folder or a .zip of photos."""
    return target.is_dir() or (target.suffix.lower() == ".zip" and target.is_file())


def refuse_before_loading(args) -> None:
    """Refuse what needs no model to refuse: a missing file, --csv for one photo, --explain not to a
    .png, an unknown --explain-class. Loading the model takes seconds where the model has no
    up-to-date export; a typo should not wait for it."""
    from fer_core.inference.explain import class_index

    target = Path(args.image)
    if not target.exists():
        raise FerError(f"{args.image}: no such {'video' if is_video(target) else 'image'} file")
    single_photo = not is_many(target) and not is_video(target)
    if args.csv and single_photo:
        raise FerError(f"{args.image}: --csv is for a folder, a .zip of photos or a video")
    if args.explain and not args.explain.lower().endswith(".png"):
        raise FerError(f"{args.explain}: --explain writes a .png file")
    if args.explain_class:
        try:
            class_index(args.explain_class)
        except ValueError as error:
            raise FerError(str(error)) from None


def label_many(args, predictor) -> int:
    """Label every photo of a folder or .zip: one CSV row per face, to --csv or to stdout."""
    from fer_core.inference.batch import CSV_COLUMNS, label_photos, photos_in
    from fer_core.labels import EMOTIONS

    started = time.monotonic()
    on_photo = _show_progress if sys.stderr.isatty() else None
    rows = label_photos(predictor, photos_in(args.image, predictor.config.limits), on_photo=on_photo)
    counts = write_rows(rows, args.csv, CSV_COLUMNS, progress_shown=on_photo is not None)
    if counts is not None:
        faces = sum(n for label, n in counts.items() if label in EMOTIONS)
        summary = ", ".join(f"{label} {n}" for label, n in counts.most_common())
        print(f"wrote {args.csv}: {faces} faces ({summary}) in {time.monotonic() - started:.1f}s")
    return 0


def label_video_file(args, predictor) -> int:
    """Label the faces of a video's sampled frames: one CSV row per face and frame, to --csv or to stdout."""
    from fer_core.inference.video import VIDEO_CSV_COLUMNS, VideoConfig, label_video

    started = time.monotonic()
    config = VideoConfig(samples_per_second=args.samples_per_second)
    on_frame = _show_video_progress if sys.stderr.isatty() else None
    rows = label_video(predictor, args.image, config, on_frame=on_frame)
    counts = write_rows(rows, args.csv, VIDEO_CSV_COLUMNS, progress_shown=on_frame is not None)
    if counts is not None:
        summary = ", ".join(f"{label} {n}" for label, n in counts.most_common()) or "no face found"
        print(f"wrote {args.csv}: {sum(counts.values())} faces in sampled frames ({summary}) in "
              f"{time.monotonic() - started:.1f}s")
    return 0


def write_rows(rows, csv_path: str | None, columns: list[str], *, progress_shown: bool) -> Counter | None:
    """Stream the rows to the CSV file at ``csv_path`` (returning the label counts), or to stdout
    when there is none (returning None)."""
    from fer_core.inference.batch import write_csv

    if not csv_path:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns)
        writer.writeheader()
        writer.writerows(row.to_record() for row in rows)
        return None
    counts = write_csv(rows, csv_path, columns)
    if progress_shown:
        print(file=sys.stderr)  # end the progress line
    return counts


def _show_video_progress(time_s: float, duration_s: float) -> None:
    print(f"\r{time_s:.1f} of {duration_s:.1f} s labelled" + " " * 10, end="", file=sys.stderr, flush=True)


def _show_progress(done: int, name: str) -> None:
    print(f"\r{done} photos labelled ({name[-40:]})" + " " * 10, end="", file=sys.stderr, flush=True)


def write_explanation(args, predictor, faces) -> None:
    """The photo with each face's Grad-CAM heat map and label, as a PNG at --explain."""
    from PIL import Image

    from fer_core.data.photos import load_rgb
    from fer_core.inference.render import annotate, overlay_on_photo

    rgb = load_rgb(args.image)
    heats = [(face.box, predictor.explain(face, args.explain_class)) for face in faces]
    try:
        Image.fromarray(annotate(overlay_on_photo(rgb, heats), faces)).save(args.explain)
    except OSError as error:
        raise FerError(f"{args.explain}: cannot write the heat map ({error.strerror or error})") from None
    print(f"wrote {args.explain}: Grad-CAM for {args.explain_class or 'the predicted class'} of {len(faces)} "
          f"face{'s' if len(faces) != 1 else ''}", file=sys.stderr)
