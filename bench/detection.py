"""How many faces does each detector find on hard photos, and how often does it see one that is not there?

    python -m bench.detection --data ../shared/data/fer2013.csv.gz [--photos 60] [--real-photos FOLDER] [--json]

Builds its own photos from data it has:

- 1280 x 720 composites: PublicTest faces upscaled to 40-400 px, turned by up to 30 degrees in
  the photo's plane, blended in with a soft oval mask, 2-6 to a photo, on textures and colour
  noise, then a random gamma (dark and bright), blur and JPEG quality;
- photos without any face: scikit-image's chelsea, coffee, rocket, coins, hubble_deep_field,
  immunohistochemistry, brick, grass and gravel; and, given ``--real-photos``, the photos of those
  files or folders (real photos without a face), each seen upright and turned by
  ``REAL_PHOTO_TURNS``.

A detection finds a face when its centre lies inside the face's square and its side is 0.4-1.6
times the square's; every other detection on a composite, and every detection on a photo without
a face, is a false alarm. Some FER2013 faces are close-ups cut tightly, whose whole face is larger
than their square (eyes half the square apart, not a third): a box 1.6-2 times the square on a
face no other box found stays a false alarm and a miss, and is also counted apart. It prints,
for Haar and YuNet in the same run: recall by face size and by rotation, recall on faces of 60
px and more (also counting those boxes), false alarms, milliseconds per photo, and how well the
crop is turned upright: the error of each found face's level angle (the roll network's,
``inference.roll``) against the turn it was pasted with. With ``--misses-alone`` it also looks
for each face of 60 px and more the app missed again, alone in a photo (upright, nothing else in
it, as ``bench/framing.py`` shows it) at 192 px, then at 96-384 px: whether the face itself or the
photo around it is what the detector fails on.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import cv2
import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fer_core.data.composites import CLOSE_UP_LARGEST, as_rgb, box_finds_face, face_alone, free_spot, paste_face
from fer_core.data.loading import load_dataset
from fer_core.data.photo_folders import photo_files, read_photos
from fer_core.inference.detector import DETECTORS, DetectorConfig, FaceDetector

SIZE_BINS = ((40, 60), (60, 120), (120, 250), (250, 401))
ROTATION_BINS = ((0, 10), (10, 20), (20, 31))
REAL_PHOTO_MAX_SIDE = 1920  # --real-photos are shrunk to this longest side (the detector sees at most 960)
REAL_PHOTO_TURNS = (0.0, -30.0, -15.0, 15.0, 30.0)  # degrees each of the --real-photos is seen turned by
ALONE_SCALES = (4, 2, 3, 6, 8)  # --misses-alone: a missed face alone at 192 px first, then at 96-384 px
NO_FACE_PHOTOS = ("chelsea", "coffee", "rocket", "coins", "hubble_deep_field", "immunohistochemistry", "brick",
                  "grass", "gravel")


def background(rng: np.random.Generator, textures: list[np.ndarray], size=(720, 1280)) -> np.ndarray:
    """A textured or noisy 1280 x 720 canvas with no face in it."""
    height, width = size
    if rng.random() < 0.7:
        texture = textures[rng.integers(len(textures))]
        tiled = np.tile(texture, (height // texture.shape[0] + 1, width // texture.shape[1] + 1, 1))[:height, :width]
        tint = rng.uniform(0.5, 1.2, 3)
        return np.clip(tiled * tint, 0, 255).astype(np.uint8)
    noise = rng.normal(rng.uniform(60, 190, 3), rng.uniform(10, 50), (height // 8, width // 8, 3))
    return cv2.resize(np.clip(noise, 0, 255).astype(np.uint8), (width, height), interpolation=cv2.INTER_CUBIC)


def build_composites(faces: np.ndarray, count: int, seed: int) -> list[tuple[np.ndarray, list[dict]]]:
    """``count`` photos with their faces' truth: centre, side, rotation and the face's index in ``faces``."""
    from skimage import data

    rng = np.random.default_rng(seed)
    textures = [as_rgb(getattr(data, name)()) for name in ("brick", "grass", "gravel")]
    photos = []
    for _ in range(count):
        canvas = background(rng, textures)
        truth: list[dict] = []
        for _ in range(int(rng.integers(2, 7))):
            side = int(np.exp(rng.uniform(np.log(40), np.log(400))))
            centre = free_spot(rng, side, truth, (720, 1280))  # faces do not overlap
            if centre is None:
                continue
            degrees = float(rng.uniform(-30, 30))
            index = int(rng.integers(len(faces)))
            paste_face(canvas, faces[index], centre, side, degrees)
            truth.append({"centre": centre, "side": side, "degrees": degrees, "face": index})
        gamma = float(rng.uniform(0.5, 1.8))
        canvas = (255 * (canvas / 255.0) ** gamma).astype(np.uint8)
        if rng.random() < 0.5:
            canvas = cv2.GaussianBlur(canvas, (0, 0), float(rng.uniform(0.5, 2.0)))
        quality = int(rng.integers(20, 96))
        encoded = cv2.imencode(".jpg", cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
        photos.append((cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB), truth))
    return photos


def turned_views(photos: dict[str, np.ndarray], turns=REAL_PHOTO_TURNS) -> dict[str, np.ndarray]:
    """Each photo turned by each of ``turns`` degrees about its centre (edges mirrored), by name."""
    views = {}
    for name, photo in photos.items():
        height, width = photo.shape[:2]
        for degrees in turns:
            matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
            views[f"{name} {degrees:+g}"] = photo if degrees == 0 else \
                cv2.warpAffine(photo, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    return views


def measure(detector: FaceDetector, composites, no_face_photos: dict[str, np.ndarray],
            real_photos: dict[str, np.ndarray] | None = None) -> dict:
    found, alarms, seconds, level_errors, missed_60px = [], 0, [], [], []
    for photo, truth in composites:
        started = time.perf_counter()
        faces = detector.find(photo)
        seconds.append(time.perf_counter() - started)
        used, missed = set(), []
        for face in truth:
            hit = next((i for i, f in enumerate(faces) if i not in used and box_finds_face(f.box, face)), None)
            if hit is not None:
                used.add(hit)
                level_errors.append(abs(faces[hit].level_angle + face["degrees"]))  # level angle undoes the turn
            else:
                missed.append((len(found), face))
            found.append([face["side"], abs(face["degrees"]), hit is not None, False])
        missed_60px += [face["face"] for _, face in missed if face["side"] >= 60]
        alarms += len(faces) - len(used)
        for row, face in missed:  # a false alarm that is a close-up's whole face, counted apart
            whole = next((i for i, f in enumerate(faces) if i not in used and
                          box_finds_face(f.box, face, CLOSE_UP_LARGEST)), None)
            if whole is not None:
                used.add(whole)
                found[row][3] = True
    sides, turns, hits, close_ups = (np.array(column) for column in zip(*found))

    def recall(mask, counted=hits) -> dict:
        return {"faces": int(mask.sum()), "recall": float(counted[mask].mean()) if mask.any() else None}

    no_face = {name: len(detector.detect(photo)) for name, photo in no_face_photos.items()}
    real = {name: len(detector.detect(photo)) for name, photo in (real_photos or {}).items()}
    return {
        "recall_by_size": {f"{low}-{high - 1} px": recall((sides >= low) & (sides < high)) for low, high in SIZE_BINS},
        "recall_by_rotation": {f"{low}-{high - 1} deg": recall((turns >= low) & (turns < high))
                               for low, high in ROTATION_BINS},
        "recall_60px_and_more": recall(sides >= 60),
        "false_alarms_per_composite": alarms / len(composites),
        "close_ups_framed_whole": int(close_ups.sum()),  # false alarms that are a close-up's whole face
        "recall_60px_and_more_with_close_ups": recall(sides >= 60, hits | close_ups)["recall"],
        "missed_faces_60px_and_more": missed_60px,
        "detections_on_photos_without_a_face": no_face,
        "detections_on_real_photos_without_a_face": real,
        "level_angle_error_degrees": {"median": float(np.median(level_errors)),
                                      "p90": float(np.percentile(level_errors, 90))} if level_errors else None,
        "ms_per_1280x720_photo": {"median": 1000 * statistics.median(seconds),
                                  "p90": 1000 * sorted(seconds)[int(0.9 * (len(seconds) - 1))]},
    }


def found_alone(detector: FaceDetector, face: np.ndarray) -> int | None:
    """The first of ``ALONE_SCALES`` at which ``detector`` finds ``face`` alone in a photo (upright,
    edges repeated), or None."""
    for scale in ALONE_SCALES:
        if detector.find(face_alone(face, scale, 0.5)[0]):
            return scale
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="FER2013 CSV (its PublicTest faces are pasted in)")
    parser.add_argument("--photos", type=int, default=60, help="composite photos (default 60)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--yunet-score", type=float, default=DetectorConfig().score_threshold,
                        help="YuNet's score threshold (default: the app's)")
    parser.add_argument("--yunet-candidate", type=float, default=DetectorConfig().candidate_threshold,
                        help="weaker faces above this score get a second look (default: the app's; 0: none)")
    parser.add_argument("--check-from", type=float, default=DetectorConfig().check_from,
                        help="weaker faces from this score are kept when the face check is sure (default: the app's; "
                             "0: no check)")
    parser.add_argument("--check-accept", type=float, default=DetectorConfig().check_accept,
                        help="the face check's probability that keeps a weak face (default: the app's)")
    parser.add_argument("--check-look", type=float, default=DetectorConfig().check_look,
                        help="... and when its second look scores it this much (default: the app's; 0: no look)")
    parser.add_argument("--large-look-side", type=int, default=DetectorConfig().large_look_side,
                        help="a large face a second look leaves unsure is looked at again this large (default: the "
                             "app's; 0: not)")
    parser.add_argument("--check-likely", type=float, default=DetectorConfig().check_likely,
                        help="a weak face the check finds this likely is kept when its second look is as sure as "
                             "an unsure face's must be (default: the app's; 0: not)")
    parser.add_argument("--check-limit", type=int, default=DetectorConfig().check_limit,
                        help="second looks the face check may ask for in one photo (default: the app's)")
    parser.add_argument("--no-gray-look", action="store_true", help="second looks in colour only, not in gray too")
    parser.add_argument("--verify-min-side", type=int, default=DetectorConfig().verify_min_side,
                        help="a smaller box gets no second look nor check (default: the app's; 0: any box)")
    parser.add_argument("--no-align", action="store_true", help="no roll network: level by YuNet's eye line")
    parser.add_argument("--yunet-max-side", type=int, default=DetectorConfig().max_side,
                        help="longest side of the copy YuNet sees (default: the app's; 0: 960)")
    parser.add_argument("--yunet-turns", type=float, nargs="*", default=list(DetectorConfig().turns),
                        help="YuNet also looks in copies turned by these degrees (default: the app's)")
    parser.add_argument("--real-photos", nargs="+", default=[], metavar="PHOTOS",
                        help="real photos without any face (files, or folders searched for photos), each also "
                             f"seen turned by {', '.join(f'{t:g}' for t in REAL_PHOTO_TURNS[1:])} degrees")
    parser.add_argument("--misses-alone", action="store_true",
                        help="look for each face the app misses again, alone in a photo (see above)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from skimage import data

    faces = load_dataset(args.data).subset("PublicTest").images
    composites = build_composites(faces, args.photos, args.seed)
    no_face = {name: as_rgb(getattr(data, name)()) for name in NO_FACE_PHOTOS}
    files = photo_files(tuple(args.real_photos))
    real = turned_views(dict(zip((path.name for path in files), read_photos(files, REAL_PHOTO_MAX_SIDE))))
    configs = {"haar": DetectorConfig(kind="haar", align=not args.no_align),
               "yunet": DetectorConfig(kind="yunet", score_threshold=args.yunet_score, turns=tuple(args.yunet_turns),
                                       candidate_threshold=args.yunet_candidate, max_side=args.yunet_max_side,
                                       check_from=args.check_from, check_accept=args.check_accept,
                                       check_look=args.check_look, check_likely=args.check_likely,
                                       large_look_side=args.large_look_side, verify_min_side=args.verify_min_side,
                                       check_limit=args.check_limit, gray_look=not args.no_gray_look,
                                       align=not args.no_align)}
    detectors = {kind: FaceDetector(configs[kind]) for kind in DETECTORS[::-1]}
    results = {kind: measure(detector, composites, no_face, real) for kind, detector in detectors.items()}
    if args.misses_alone:
        scales = [found_alone(detectors["yunet"], faces[index])
                  for index in results["yunet"]["missed_faces_60px_and_more"]]
        results["yunet"]["missed_faces_found_alone"] = {
            "at 192 px": scales.count(ALONE_SCALES[0]),
            "at 96-384 px": sum(scale is not None for scale in scales) - scales.count(ALONE_SCALES[0]),
            "never": scales.count(None)}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    total = sum(len(truth) for _, truth in composites)
    print(f"{args.photos} composite photos (1280x720) holding {total} faces; YuNet score threshold {args.yunet_score}, "
          f"second look from {args.yunet_candidate or 'none'}, face check from {args.check_from or 'none'} "
          f"(accepting {args.check_accept}), turned copies {tuple(args.yunet_turns) or 'none'}, "
          f"faces turned upright by {'their eye line' if args.no_align else 'the roll network'}\n")
    print("| | " + " | ".join(results) + " |\n| --- | " + " | ".join("---:" for _ in results) + " |")
    rows = [(f"recall, faces {size}", lambda r, s=size: r["recall_by_size"][s]) for size in results["haar"]["recall_by_size"]]
    rows += [(f"recall, turned {turn}", lambda r, t=turn: r["recall_by_rotation"][t])
             for turn in results["haar"]["recall_by_rotation"]]
    rows.append(("**recall, faces of 60 px and more**", lambda r: r["recall_60px_and_more"]))
    for label, pick in rows:
        cells = [f"{pick(r)['recall']:.1%} of {pick(r)['faces']}" if pick(r)["recall"] is not None else "-"
                 for r in results.values()]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("| false alarms per composite | " + " | ".join(f"{r['false_alarms_per_composite']:.2f}" for r in results.values()) + " |")
    print("| ... of which boxes 1.6-2 times a missed face's square (a close-up's whole face) | " + " | ".join(
        str(r["close_ups_framed_whole"]) for r in results.values()) + " |")
    print("| recall, faces of 60 px and more, counting those boxes | " + " | ".join(
        f"{r['recall_60px_and_more_with_close_ups']:.1%}" for r in results.values()) + " |")
    print("| detections on the photos without a face | " + " | ".join(
        str(sum(r["detections_on_photos_without_a_face"].values())) +
        "".join(f" ({k} {v})" for k, v in r["detections_on_photos_without_a_face"].items() if v)
        for r in results.values()) + " |")
    if real:
        print(f"| detections on the real photos without a face ({len(files)} photos, {len(real)} views) | " + " | ".join(
            str(sum(r["detections_on_real_photos_without_a_face"].values())) +
            "".join(f" ({k} {v})" for k, v in r["detections_on_real_photos_without_a_face"].items() if v)
            for r in results.values()) + " |")
    print("| level angle's error on the found faces, median (p90) | " + " | ".join(
        f"{r['level_angle_error_degrees']['median']:.1f} deg ({r['level_angle_error_degrees']['p90']:.1f})"
        if r["level_angle_error_degrees"] else "-" for r in results.values()) + " |")
    print("| ms per 1280x720 photo, median (p90) | " + " | ".join(
        f"{r['ms_per_1280x720_photo']['median']:.1f} ({r['ms_per_1280x720_photo']['p90']:.1f})" for r in results.values()) + " |")
    if args.misses_alone:
        alone = results["yunet"]["missed_faces_found_alone"]
        print(f"\nThe app's {sum(alone.values())} missed faces of 60 px and more, each alone in a photo (upright): "
              f"found at 192 px {alone['at 192 px']}, at another size (96-384 px) {alone['at 96-384 px']}, "
              f"never {alone['never']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
