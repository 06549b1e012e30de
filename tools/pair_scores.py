"""Experiment (session 18): score every equal-weight combination of trained networks on PublicTest.

    python tools/pair_scores.py --data ../shared/data/fer2013.csv.gz \\
        runs/s17/s15_vgg_fer_blur.keras runs/s17/ema_blur.keras runs/s18/ema90.keras

Each network predicts PublicTest and its mirror once; every combination of two or more is then
scored by averaging the members' probabilities, the way `python -m fer_core ensemble` and flip TTA
average them, so choosing a partner costs one pass per network instead of one `ensemble` and
`evaluate` per pair. It also prints how often each network agrees with the first (flip TTA) and how
many of the first's errors it fixes and right answers it breaks. Session 18 used it to find that a
stronger `vgg_fer_s` partner (68.8% alone) paired below the shipped, weaker one (models/README.md).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def combination_scores(predictions: dict[str, tuple[np.ndarray, np.ndarray]],
                       labels: np.ndarray) -> list[tuple[tuple[str, ...], float, float]]:
    """(names, plain accuracy, flip-TTA accuracy) of every combination of two or more networks,
    given each network's (plain, mirrored) probabilities; members weigh equally."""
    rows = []
    for size in range(2, len(predictions) + 1):
        for names in itertools.combinations(predictions, size):
            plain = np.mean([predictions[n][0] for n in names], axis=0)
            mirrored = np.mean([predictions[n][1] for n in names], axis=0)
            rows.append((names, _accuracy(plain, labels), _accuracy((plain + mirrored) / 2, labels)))
    return rows


def agreement_with(reference: np.ndarray, other: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """How ``other``'s predictions relate to ``reference``'s: the share of faces where they agree,
    and how many of the reference's errors ``other`` gets right (fixed) and right answers wrong (broken)."""
    ours, theirs = reference.argmax(1), other.argmax(1)
    ours_right, theirs_right = ours == labels, theirs == labels
    return {"agree": float((ours == theirs).mean()),
            "fixed": int((~ours_right & theirs_right).sum()),
            "broken": int((ours_right & ~theirs_right).sum())}


def _accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float((probabilities.argmax(1) == labels).mean())


def main() -> None:
    from fer_core.data import load_dataset
    from fer_core.evaluate import predict_probabilities
    from fer_core.modelio import load_keras_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", metavar="MODEL", help=".keras networks; the first is the reference")
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="PublicTest")
    args = parser.parse_args()

    faces = load_dataset(args.data).subset(args.split)
    predictions = {}
    for path in args.models:
        model = load_keras_model(path)
        plain = predict_probabilities(model, faces.images)
        mirrored = predict_probabilities(model, faces.images[:, :, ::-1])
        predictions[path] = (plain, mirrored)
        print(f"{path}: {_accuracy(plain, faces.labels):.4f} / {_accuracy((plain + mirrored) / 2, faces.labels):.4f}"
              " (plain / flip TTA)", flush=True)

    reference = args.models[0]
    with_tta = {name: (plain + mirrored) / 2 for name, (plain, mirrored) in predictions.items()}
    for name in args.models[1:]:
        relation = agreement_with(with_tta[reference], with_tta[name], faces.labels)
        print(f"{name} against {reference}: agrees on {relation['agree']:.1%}, fixes {relation['fixed']},"
              f" breaks {relation['broken']}")
    for names, plain, tta in sorted(combination_scores(predictions, faces.labels), key=lambda row: -row[2]):
        print(f"{plain:.4f} / {tta:.4f}  {' + '.join(names)}")


if __name__ == "__main__":
    main()
