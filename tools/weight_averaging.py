"""Experiment (session 10): average the weights of a run's last epochs (SWA-style), then blur.

    python tools/weight_averaging.py --run runs/long140 --checkpoints 'runs/s10/snaps/epoch_1[2-4]*.keras' \\
        --data ../shared/data/fer2013.csv.gz --out runs/s10/averaged.keras

Loads each epoch checkpoint (training models, as ``train`` writes them into a run folder), takes
the network inside, averages every weight, and re-estimates the BatchNorm statistics of the
average on augmented Training faces (the averaged convolutions see other activations than any
single epoch did; the faces pass through the run's own augmentation, so the statistics match
what training normalised). Prints PublicTest accuracy (plain / flip TTA) of the last checkpoint
and of the average, both with the input blur widths ``blur`` chooses from. ``--run`` may also be a
finished network with its card, and ``--checkpoints`` that network: BatchNorm re-estimation only.

Session 10, BatchNorm re-estimation only (10,000 augmented faces), with the 0.6 px blur: session
4's finished network 67.04% / 68.32% before, 66.95% / 68.04% after (no gain); the epoch-74
checkpoint of the 140-epoch run (1,000 faces), mid-schedule, 65.92% / 66.56% before, 66.82% /
67.96% after. Weights of epochs 110-132 of that run averaged, BatchNorm re-estimated (5,000 faces),
0.7 px blur: 67.87% / 68.88%, against 67.79% / 68.71% for epoch 132 alone: within noise.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fer_core.quiet import import_keras  # noqa: E402


def network_of(checkpoint: str, arch: str):
    """The float32 network inside a training checkpoint, or a network file (without input blur) as is."""
    import keras

    from fer_core import augment  # noqa: F401  (registers RandomAffine)
    from fer_core.models import build_model

    model = keras.models.load_model(checkpoint, safe_mode=True)
    inner = model.layers[-1] if isinstance(model.layers[-1], keras.Model) else model
    network = build_model(arch)
    network.set_weights(inner.get_weights())
    return network


def recorded_config(source: str) -> dict:
    """The training settings of a run folder (its state.json) or of a model (its card)."""
    path = Path(source)
    state = path / "state.json" if path.is_dir() else path.with_suffix(".json")
    return json.loads(state.read_text())["config"]


def reestimate_batchnorm(network, faces: np.ndarray, batch: int = 500) -> None:
    """Replace each BatchNorm layer's statistics, in order, with those of its input over ``faces``."""
    keras = import_keras()
    for layer in network.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer_input = keras.Model(network.inputs, layer.input)
            total = total_squares = 0.0
            count = 0
            for start in range(0, len(faces), batch):  # in batches: one layer's input for 10,000 faces is GBs
                inputs = np.asarray(layer_input(faces[start:start + batch], training=False), dtype="float64")
                inputs = inputs.reshape(-1, inputs.shape[-1])
                total, total_squares = total + inputs.sum(0), total_squares + (inputs ** 2).sum(0)
                count += len(inputs)
            mean = total / count
            layer.moving_mean.assign(mean.astype("float32"))
            layer.moving_variance.assign((total_squares / count - mean ** 2).astype("float32"))


def augmented_faces(config: dict, images: np.ndarray, seed: int = 0) -> np.ndarray:
    """``images`` passed once through the run's training augmentation."""
    keras = import_keras()
    from fer_core.trainer import TrainConfig, augmentation_layers

    augment = keras.Sequential(augmentation_layers(TrainConfig.from_dict(config), seed))
    batches = [np.asarray(augment(images[i:i + 512].astype("float32")[..., None], training=True))
               for i in range(0, len(images), 512)]
    return np.concatenate(batches)


def main() -> None:
    from fer_core.data import load_dataset
    from fer_core.smoothing import try_blurs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="the run folder, or a model with its card (for the training settings)")
    parser.add_argument("--checkpoints", required=True, help="glob of the epoch checkpoints to average")
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True, help="where to save the averaged network (.keras, no blur)")
    parser.add_argument("--faces", type=int, default=10_000, help="Training faces for the BatchNorm statistics")
    parser.add_argument("--sigmas", default="0,0.5,0.6,0.7")
    args = parser.parse_args()

    import_keras()
    config = recorded_config(args.run)
    checkpoints = sorted(glob.glob(args.checkpoints))
    if not checkpoints:
        sys.exit(f"no checkpoint matches {args.checkpoints}")
    data = load_dataset(args.data)
    training, public = data.subset("Training"), data.subset("PublicTest")
    pick = np.random.default_rng(0).choice(len(training), min(args.faces, len(training)), replace=False)
    sigmas = [float(s) for s in args.sigmas.split(",")]

    def report(name: str, network) -> None:
        for trial in try_blurs(network, public.images, public.labels, sigmas):
            print(f"{name}, blur {trial.sigma:g}: {trial.accuracy:.2%} / {trial.accuracy_tta:.2%} "
                  f"(log loss {trial.log_loss:.4f})", flush=True)

    networks = [network_of(path, config["arch"]) for path in checkpoints]
    print(f"averaging {len(checkpoints)} checkpoints: {checkpoints[0]} .. {checkpoints[-1]}", flush=True)
    report(f"last ({Path(checkpoints[-1]).stem})", networks[-1])
    averaged = networks[-1]
    weights = [np.mean([n.get_weights()[i] for n in networks], axis=0, dtype="float64").astype("float32")
               for i in range(len(averaged.get_weights()))]
    averaged.set_weights(weights)
    report("average, averaged BatchNorm statistics", averaged)
    reestimate_batchnorm(averaged, augmented_faces(config, training.images[pick]))
    report("average, BatchNorm re-estimated on augmented faces", averaged)
    averaged.save(args.out)


if __name__ == "__main__":
    main()
