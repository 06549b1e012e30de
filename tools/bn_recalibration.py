"""Experiment (session 9): re-estimate a model's BatchNorm statistics on clean Training faces.

    python tools/bn_recalibration.py --model models/default.keras --data ../shared/data/fer2013.csv.gz \\
        --out runs/s9/default_bn.keras --faces 10000

The network's BatchNorm layers learnt their statistics on augmented faces (shifted, rotated,
zoomed, erased, and blurred by three resamplings); this replaces them, layer by layer in order,
with the exact mean and variance of each layer's input over un-augmented Training faces, then
prints PublicTest accuracy before and after (plain / flip TTA). Result on the shipped default
(session 9): 67.04% / 68.32% before, 67.32% / 68.26% after: no gain, so nothing was shipped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fer_core.quiet import import_keras  # noqa: E402


def main() -> None:
    from fer_core.data import load_dataset
    from fer_core.evaluate import predict_probabilities
    from fer_core.modelio import load_keras_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True, help="where to save the recalibrated model (.keras)")
    parser.add_argument("--faces", type=int, default=10_000, help="Training faces to estimate from")
    args = parser.parse_args()

    keras = import_keras()
    data = load_dataset(args.data)
    training, public = data.subset("Training"), data.subset("PublicTest")
    pick = np.random.default_rng(0).choice(len(training), min(args.faces, len(training)), replace=False)
    faces = training.images[pick].astype("float32")[..., None]
    model = load_keras_model(args.model)

    def accuracy() -> str:
        plain, tta = (predict_probabilities(model, public.images, tta=t).argmax(1) for t in (False, True))
        return f"{(plain == public.labels).mean():.2%} / {(tta == public.labels).mean():.2%}"

    print(f"before: PublicTest {accuracy()} (plain / flip TTA)", flush=True)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            inputs = keras.Model(model.inputs, layer.input).predict(faces, batch_size=512, verbose=0).astype("float64")
            axes = tuple(range(inputs.ndim - 1))
            old_mean = np.asarray(layer.moving_mean)
            layer.moving_mean.assign(inputs.mean(axis=axes).astype("float32"))
            layer.moving_variance.assign(inputs.var(axis=axes).astype("float32"))
            print(f"{layer.name}: mean moved {np.abs(inputs.mean(axis=axes) - old_mean).mean():.4f}", flush=True)
    print(f"after: PublicTest {accuracy()} (plain / flip TTA)", flush=True)
    model.save(args.out)


if __name__ == "__main__":
    main()
