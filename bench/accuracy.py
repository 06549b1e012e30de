"""Evaluate every model in models/ on a split and print one comparison table.

    python bench/accuracy.py --data ../shared/data/fer2013.csv.gz [--split PublicTest] [--json]

Each row is measured now, by running the model, next to what its model card claims.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fer_core.catalog import MODELS_DIR, list_models  # noqa: E402
from fer_core.data import load_dataset  # noqa: E402
from fer_core.predict import Predictor  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="PublicTest")
    parser.add_argument("--models", default=str(MODELS_DIR), help="folder of .keras models")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = load_dataset(args.data).subset(args.split)
    rows = []
    for entry in list_models(Path(args.models)):
        predictor = Predictor.load(entry.path)
        started = time.perf_counter()
        plain = predictor.evaluate(data.images, data.labels, split=args.split)
        seconds = time.perf_counter() - started
        flipped = predictor.evaluate(data.images, data.labels, split=args.split, tta=True)
        rows.append({"model": entry.path.name, "architecture": entry.architecture,
                     "parameters": int(predictor.model.count_params()),
                     "size_mb": round(entry.path.stat().st_size / 1e6, 2),
                     "accuracy": round(plain.accuracy, 4), "accuracy_flip_tta": round(flipped.accuracy, 4),
                     "macro_f1": round(plain.macro_f1, 4), "macro_f1_flip_tta": round(flipped.macro_f1, 4),
                     "card_accuracy": entry.accuracy, "faces_per_s": round(len(data) / seconds)})
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{args.split}, {len(data):,} faces\n")
    print("| model | architecture | parameters | MB | accuracy | accuracy (flip TTA) | macro-F1 (flip TTA) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['model']} | {r['architecture']} | {r['parameters']:,} | {r['size_mb']} | {r['accuracy']:.1%} | "
              f"{r['accuracy_flip_tta']:.1%} | {r['macro_f1_flip_tta']:.3f} |")


if __name__ == "__main__":
    main()
