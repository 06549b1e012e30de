"""Does the app's face crop frame a face the way FER2013 does? Accuracy through the detector.

    python bench/framing.py --data ../shared/data/fer2013.csv.gz [--split PublicTest] [--json]

The model learnt FER2013's framing: 48 x 48 faces cut from photos by the dataset's authors. In
the app, the Haar detector draws the box instead, and ``crop_face`` cuts it (with
``DetectorConfig.margin`` of extra border). This bench turns each face of the split back into a
"photo": upscaled 4x (bicubic) and padded by half its size on every side (edge pixels repeated,
so the padding holds no second face). Then it runs the app's detector on it and reports

- how many faces the detector finds, and where its box lies relative to the FER2013 frame
  (side as a fraction of the frame, centre offset);
- the accuracy (flip TTA, as the app) of the model on the original 48 x 48 faces and on the
  detector's crops of the same faces, for several margins.

A margin that frames the face like the dataset loses the least accuracy. Outside the FER2013
frame there is only repeated edge pixels, so large margins are penalised more than they would be
on a real photo; the box geometry is the unbiased part of the answer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fer_core.data import load_dataset  # noqa: E402
from fer_core.faces import crop_face  # noqa: E402
from fer_core.predict import Predictor  # noqa: E402

MARGINS = (-0.05, 0.0, 0.05, 0.1, 0.2)


def as_photo(face: np.ndarray, scale: int, pad_fraction: float) -> tuple[np.ndarray, int]:
    """A 48 x 48 face upscaled ``scale`` times and padded; returns the photo and the padding."""
    side = face.shape[0] * scale
    big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    pad = int(side * pad_fraction)
    return cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE), pad


def measure(predictor: Predictor, images: np.ndarray, labels: np.ndarray, scale: int = 4,
            pad_fraction: float = 0.5, margins=MARGINS) -> dict:
    """Detection rate, box geometry and accuracy with each margin (see the module docstring)."""
    frame = images.shape[1] * scale
    found, photos, boxes, pad = [], [], [], 0
    for index, face in enumerate(images):
        photo, pad = as_photo(face, scale, pad_fraction)
        detected = predictor.detector.detect(photo)
        if detected:
            found.append(index)
            photos.append(photo)
            boxes.append(detected[0])
    found = np.array(found, dtype=int)
    box = np.array(boxes, dtype=float).reshape(-1, 4)
    side = box[:, 2] / frame
    centre_x = (box[:, 0] + box[:, 2] / 2 - pad) / frame - 0.5
    centre_y = (box[:, 1] + box[:, 3] / 2 - pad) / frame - 0.5
    truth = labels[found]

    def accuracy(faces: np.ndarray) -> float:
        return float((predictor.probabilities(faces, tta=True).argmax(1) == truth).mean()) if len(faces) else 0.0

    direct = accuracy(images[found])
    through_detector = {f"{m:+.2f}": accuracy(np.stack([crop_face(p, b, m) for p, b in zip(photos, boxes)]))
                        if len(found) else 0.0 for m in margins}
    return {
        "faces": int(len(images)),
        "detected": int(len(found)),
        "box_side_over_frame": {"median": float(np.median(side)), "q10": float(np.percentile(side, 10)),
                                "q90": float(np.percentile(side, 90))} if len(found) else None,
        "box_centre_offset": {"x": float(np.median(centre_x)), "y": float(np.median(centre_y))}
        if len(found) else None,
        "accuracy_direct": direct,
        "accuracy_through_detector": through_detector,
        "app_margin": predictor.config.detector.margin,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="FER2013 CSV")
    parser.add_argument("--split", default="PublicTest")
    parser.add_argument("--model", default=None, help="default: the shipped model")
    parser.add_argument("--limit", type=int, default=0, help="only the first N faces (0: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    data = load_dataset(args.data).subset(args.split)
    images, labels = (data.images[: args.limit], data.labels[: args.limit]) if args.limit else \
        (data.images, data.labels)
    result = measure(Predictor.load(args.model), images, labels)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    side, centre = result["box_side_over_frame"], result["box_centre_offset"]
    print(f"{args.split}: the detector found {result['detected']} of {result['faces']} faces "
          f"(upscaled 4x, padded)")
    if side:
        print(f"box side / FER2013 frame: median {side['median']:.2f} (10-90%: {side['q10']:.2f}-{side['q90']:.2f}); "
              f"centre offset x {centre['x']:+.3f}, y {centre['y']:+.3f} of the frame")
    print("\n| crop of the detected faces | accuracy (flip TTA) | vs the dataset's crop |\n| --- | ---: | ---: |")
    print(f"| the dataset's own 48x48 crop | {result['accuracy_direct']:.2%} | 1.000 |")
    for margin, value in result["accuracy_through_detector"].items():
        mark = " (the app)" if abs(float(margin) - result["app_margin"]) < 1e-9 else ""
        ratio = value / result["accuracy_direct"] if result["accuracy_direct"] else 0.0
        print(f"| detector box, margin {margin}{mark} | {value:.2%} | {ratio:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
