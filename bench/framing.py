"""Does the app's face crop frame a face the way FER2013 does? Accuracy through the detector.

    python -m bench.framing --data ../shared/data/fer2013.csv.gz [--detector yunet|haar] [--json]

The model learnt FER2013's framing: 48 x 48 faces cut from photos by the dataset's authors. In
the app, a detector draws the box instead, and the crop is a square around it, scaled and
shifted by ``DetectorConfig.framing`` (and rotated so the eyes are level, with YuNet). This bench
turns each face of the split back into a "photo": upscaled 4x (bicubic) and padded by half its
size on every side (edge pixels repeated, so the padding holds no second face). Then it runs the
detector on it and reports

- how many faces the detector finds, and where the FER2013 frame lies relative to its box
  (frame side over box side, and the frame centre's offset from the box centre): the framing
  the app should use;
- the accuracy (flip TTA, as the app) of the model on the original 48 x 48 faces and on the
  app's crops of the same faces, with the measured framing and a few around it.

Outside the FER2013 frame there is only repeated edge pixels, so large crops are penalised more
than they would be on a real photo; the box geometry is the unbiased part of the answer.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace

import cv2
import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fer_core.data.loading import load_dataset
from fer_core.inference.crops import crop_detection
from fer_core.inference.detector import DETECTORS, DetectorConfig
from fer_core.inference.predictor import Predictor, PredictorConfig

SCALES = (-0.1, -0.05, 0.0, 0.05, 0.1, 0.2)  # crop sides tried around the framing, relative to it


def as_photo(face: np.ndarray, scale: int, pad_fraction: float) -> tuple[np.ndarray, int]:
    """A 48 x 48 face upscaled ``scale`` times and padded; returns the photo and the padding."""
    side = face.shape[0] * scale
    big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    pad = int(side * pad_fraction)
    return cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE), pad


def measure(predictor: Predictor, images: np.ndarray, labels: np.ndarray, scale: int = 4,
            pad_fraction: float = 0.5, scales=SCALES) -> dict:
    """Detection rate, box geometry and accuracy with each framing (see the module docstring)."""
    frame = images.shape[1] * scale
    config = predictor.config.detector
    found, photos, detections, pad = [], [], [], 0
    for index, face in enumerate(images):
        photo, pad = as_photo(face, scale, pad_fraction)
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
        return float((predictor.probabilities(faces, tta=True).argmax(1) == truth).mean()) if len(faces) else 0.0

    app_scale, app_shift = config.framing
    direct = accuracy(images[found])
    through_detector = {}
    for relative in scales:
        framing = replace(config, crop_scale=app_scale * (1 + relative), crop_shift=app_shift)
        crops = np.stack([crop_detection(p, d, framing) for p, d in zip(photos, detections)]) if len(found) else []
        through_detector[f"{relative:+.2f}"] = accuracy(crops) if len(found) else 0.0
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
        "app_framing": {"scale": app_scale, "shift": app_shift, "align": config.align},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="FER2013 CSV")
    parser.add_argument("--split", default="PublicTest")
    parser.add_argument("--model", default=None, help="default: the shipped model")
    parser.add_argument("--detector", choices=DETECTORS, default=DetectorConfig().kind, help="default: the app's")
    parser.add_argument("--limit", type=int, default=0, help="only the first N faces (0: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    data = load_dataset(args.data).subset(args.split)
    images, labels = (data.images[: args.limit], data.labels[: args.limit]) if args.limit else \
        (data.images, data.labels)
    predictor = Predictor.load(args.model, PredictorConfig(detector=DetectorConfig(kind=args.detector)))
    result = measure(predictor, images, labels)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    side, centre = result["frame_over_box_side"], result["frame_centre_offset"]
    print(f"{args.split}: {args.detector} found {result['detected']} of {result['faces']} faces "
          f"({result['detected'] / max(result['faces'], 1):.1%}; upscaled 4x, padded)")
    if side:
        print(f"FER2013 frame side / box side: median {side['median']:.3f} (10-90%: {side['q10']:.2f}-{side['q90']:.2f}); "
              f"frame centre from the box centre: x {centre['x']:+.3f}, y {centre['y']:+.3f} of the frame")
    framing = result["app_framing"]
    print(f"\nthe app's framing: side {framing['scale']:.3f} x the box, centre shifted {framing['shift']:+.3f} of "
          f"the side, eyes levelled: {framing['align']}")
    print("\n| crop of the detected faces | accuracy (flip TTA) | vs the dataset's crop |\n| --- | ---: | ---: |")
    print(f"| the dataset's own 48x48 crop | {result['accuracy_direct']:.2%} | 1.000 |")
    for relative, value in result["accuracy_through_detector"].items():
        mark = " (the app)" if abs(float(relative)) < 1e-9 else ""
        ratio = value / result["accuracy_direct"] if result["accuracy_direct"] else 0.0
        print(f"| the app's framing, side {relative} {mark} | {value:.2%} | {ratio:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
