"""Does the app's face crop frame a face the way FER2013 does? Accuracy through the detector.

    python -m bench.framing --data ../shared/data/fer2013.csv.gz [--detector yunet|haar] [--json]

The model learnt FER2013's framing: 48 x 48 faces cut from photos by the dataset's authors. In
the app, a detector draws the box instead, and the crop is a square around it, scaled and
shifted by ``DetectorConfig.framing``, and turned upright by the roll network. This bench
turns each face of the split back into a "photo": upscaled 4x (bicubic) and padded by half its
size on every side (edge pixels repeated, so the padding holds no second face). Then it runs the
detector on it and reports

- how many faces the detector finds, and where the FER2013 frame lies relative to its box
  (frame side over box side, and the frame centre's offset from the box centre): the framing
  the app should use;
- the accuracy (with the app's flip TTA) of the model on the original 48 x 48 faces and on the
  app's crops of the same faces, with the measured framing and a few around it.

Outside the FER2013 frame there is only repeated edge pixels, so large crops are penalised more
than they would be on a real photo; the box geometry is the unbiased part of the answer.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fer_core.data.composites import face_alone
from fer_core.data.loading import load_dataset
from fer_core.inference.crops import crop_detection
from fer_core.inference.detector import DETECTORS, DetectorConfig
from fer_core.inference.predictor import Predictor, PredictorConfig

SCALES = (-0.1, -0.05, 0.0, 0.05, 0.1, 0.2)  # crop sides tried around the framing, relative to it
MIN_TURNS = (0.0, 5.0, 8.0, 12.0)  # DetectorConfig.min_turn values tried


def measure(predictor: Predictor, images: np.ndarray, labels: np.ndarray, scale: int = 4,
            pad_fraction: float = 0.5, scales=SCALES, max_turn: float = 0.0, min_turns=MIN_TURNS) -> dict:
    """Detection rate, box geometry and accuracy with each framing (see the module docstring);
    ``max_turn``: each photo is turned by a random angle up to that many degrees either way."""
    frame = images.shape[1] * scale
    config = predictor.config.detector
    turns = np.random.default_rng(0).uniform(-max_turn, max_turn, len(images)) if max_turn else np.zeros(len(images))
    found, photos, detections, pad = [], [], [], 0
    for index, face in enumerate(images):
        photo, pad = face_alone(face, scale, pad_fraction, float(turns[index]))
        detected = predictor.detector.find(photo)
        if detected:
            found.append(index)
            photos.append(photo)
            detections.append(detected[0])
    found = np.array(found, dtype=int)
    box = np.array([d.box for d in detections], dtype=float).reshape(-1, 4)
    side = np.maximum(box[:, 2], box[:, 3])
    frame_over_box = frame / side
    centre_x = (pad + frame / 2 - (box[:, 0] + box[:, 2] / 2)) / frame  # frame centre right of the box centre
    centre_y = (pad + frame / 2 - (box[:, 1] + box[:, 3] / 2)) / frame  # ... and below it
    truth = labels[found]

    def accuracy(faces: np.ndarray) -> float:
        """The app's labels (``Predictor.classify``: flip TTA for the faces it is unsure of)."""
        if not len(faces):
            return 0.0
        labels = np.concatenate([predictor.classify(faces[start:start + 256]).argmax(1)
                                 for start in range(0, len(faces), 256)])
        return float((labels == truth).mean())

    def accuracy_with(changed: DetectorConfig) -> float:
        """Accuracy on the app's crops of the found faces, cut with ``changed`` settings."""
        return accuracy(np.stack([crop_detection(p, d, changed) for p, d in zip(photos, detections)])) \
            if len(found) else 0.0

    app_scale, app_shift = config.framing
    direct = accuracy(images[found])
    through_detector = {f"{relative:+.2f}": accuracy_with(replace(config, crop_scale=app_scale * (1 + relative),
                                                                  crop_shift=app_shift)) for relative in scales}
    left_unturned = accuracy_with(replace(config, crop_scale=app_scale, crop_shift=app_shift, align=False))
    by_min_turn = {f"{least:g}": accuracy_with(replace(config, crop_scale=app_scale, crop_shift=app_shift,
                                                       min_turn=least)) for least in min_turns}
    turned_by = np.abs([d.level_angle for d in detections]) if config.align and len(found) else np.zeros(1)
    errors = np.abs([d.level_angle + turns[i] for d, i in zip(detections, found)]) if config.align and len(found) \
        else np.zeros(1)
    return {
        "detector": config.kind,
        "faces": int(len(images)),
        "detected": int(len(found)),
        "frame_over_box_side": {"median": float(np.median(frame_over_box)),
                                "q10": float(np.percentile(frame_over_box, 10)),
                                "q90": float(np.percentile(frame_over_box, 90))} if len(found) else None,
        "frame_centre_offset": {"x": float(np.median(centre_x)), "y": float(np.median(centre_y))}
        if len(found) else None,
        "accuracy_direct": direct,
        "accuracy_through_detector": through_detector,
        "accuracy_left_unturned": left_unturned,
        "accuracy_by_min_turn": by_min_turn,
        "max_turn": max_turn,
        "turned_by_degrees": {"median": float(np.median(turned_by)), "p90": float(np.percentile(turned_by, 90))},
        "level_angle_error_degrees": {"median": float(np.median(errors)), "p90": float(np.percentile(errors, 90))},
        "app_framing": {"scale": app_scale, "shift": app_shift, "align": config.align, "min_turn": config.min_turn},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="FER2013 CSV")
    parser.add_argument("--split", default="PublicTest")
    parser.add_argument("--model", default=None, help="default: the shipped model")
    parser.add_argument("--detector", choices=DETECTORS, default=DetectorConfig().kind, help="default: the app's")
    parser.add_argument("--limit", type=int, default=0, help="only the first N faces (0: all)")
    parser.add_argument("--turn", type=float, default=0.0,
                        help="turn each photo by a random angle up to this many degrees either way (default: 0)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    data = load_dataset(args.data).subset(args.split)
    images, labels = (data.images[: args.limit], data.labels[: args.limit]) if args.limit else \
        (data.images, data.labels)
    predictor = Predictor.load(args.model, PredictorConfig(detector=DetectorConfig(kind=args.detector)))
    result = measure(predictor, images, labels, max_turn=args.turn)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    side, centre = result["frame_over_box_side"], result["frame_centre_offset"]
    turned = f", turned by up to {args.turn:g} degrees" if args.turn else ""
    print(f"{args.split}: {args.detector} found {result['detected']} of {result['faces']} faces "
          f"({result['detected'] / max(result['faces'], 1):.1%}; upscaled 4x, padded{turned})")
    if side:
        print(f"FER2013 frame side / box side: median {side['median']:.3f} (10-90%: {side['q10']:.2f}-{side['q90']:.2f}); "
              f"frame centre from the box centre: x {centre['x']:+.3f}, y {centre['y']:+.3f} of the frame")
    framing = result["app_framing"]
    print(f"\nthe app's framing: side {framing['scale']:.3f} x the box, centre shifted {framing['shift']:+.3f} of "
          f"the side, turned upright: {framing['align']} (when the estimate is {framing['min_turn']:g} degrees or more)")
    print("\n| crop of the detected faces | accuracy (flip TTA) | vs the dataset's crop |\n| --- | ---: | ---: |")
    print(f"| the dataset's own 48x48 crop | {result['accuracy_direct']:.2%} | 1.000 |")
    for relative, value in result["accuracy_through_detector"].items():
        mark = " (the app)" if abs(float(relative)) < 1e-9 else ""
        ratio = value / result["accuracy_direct"] if result["accuracy_direct"] else 0.0
        print(f"| the app's framing, side {relative} {mark} | {value:.2%} | {ratio:.3f} |")
    unturned = result["accuracy_left_unturned"]
    print(f"| the app's framing, not turned upright | {unturned:.2%} | "
          f"{unturned / max(result['accuracy_direct'], 1e-9):.3f} |")
    for least, value in result["accuracy_by_min_turn"].items():
        print(f"| the app's framing, turned upright when the estimate is {least} degrees or more | {value:.2%} | "
              f"{value / max(result['accuracy_direct'], 1e-9):.3f} |")
    turned, error = result["turned_by_degrees"], result["level_angle_error_degrees"]
    print(f"\nthe estimated turn: {turned['median']:.1f} degrees (median; 90th percentile {turned['p90']:.1f}); its "
          f"error: {error['median']:.1f} degrees (90th percentile {error['p90']:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
