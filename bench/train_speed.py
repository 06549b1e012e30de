"""Training throughput per architecture: images/second and seconds per FER2013 epoch.

    python -m bench.train_speed                                  # every architecture, float32 and bf16
    python -m bench.train_speed --arch vgg_fer vgg_fer_s --batches 30 --json
    KERAS_BACKEND=jax python -m bench.train_speed                # on a GPU machine (docs/training-on-a-gpu.md)

Budget the compute before choosing a network: this times the training step `python -m fer_core
train` runs (augmentation layers, label smoothing, the chosen optimizer), on random 48x48 faces,
after one warm-up pass that also compiles, for each architecture with and without bfloat16
mixed precision. The epoch column is 28,709 Training faces at the measured rate.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from fer_core.quiet import import_keras

TRAINING_FACES = 28_709


def images_per_second(arch: str, mixed_precision: bool, *, batch_size: int, batches: int,
                      optimizer: str, resampling: str = "sequential") -> float:
    """Faces per second through one training step of ``arch`` (after a compiling warm-up pass)."""
    import numpy as np

    from fer_core.training.config import TrainConfig
    from fer_core.training.training_model import build_training_model

    keras = import_keras()
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if mixed_precision else "float32")
    config = TrainConfig(arch=arch, batch_size=batch_size, optimizer=optimizer, erasing=0.25,
                         label_smoothing=0.1, mixed_precision=mixed_precision, resampling=resampling)
    model = build_training_model(config)
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, size=(batch_size * batches, 48, 48, 1)).astype("float32")
    labels = keras.utils.to_categorical(rng.integers(0, 7, size=len(faces)), 7)
    model.fit(faces[: batch_size * 2], labels[: batch_size * 2], batch_size=batch_size, epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(faces, labels, batch_size=batch_size, epochs=1, verbose=0)
    return len(faces) / (time.perf_counter() - started)


def main() -> None:
    from fer_core.nets.builders import ARCHITECTURES
    from fer_core.training.hardware import hardware_description

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=list(ARCHITECTURES), choices=list(ARCHITECTURES))
    parser.add_argument("--precision", nargs="+", default=["float32", "bf16"], choices=["float32", "bf16"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=12, help="timed batches per row")
    parser.add_argument("--optimizer", default="adamw", choices=["adamw", "adam", "sgd"])
    parser.add_argument("--resampling", default="sequential", choices=["sequential", "single"],
                        help="augmentation: rotate, shift, zoom one after another, or one affine transform")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    keras = import_keras()
    rows = []
    for arch in args.arch:
        for precision in args.precision:
            rate = images_per_second(arch, precision == "bf16", batch_size=args.batch_size,
                                     batches=args.batches, optimizer=args.optimizer, resampling=args.resampling)
            rows.append({"arch": arch, "precision": precision, "images_per_second": round(rate, 1),
                         "seconds_per_epoch": round(TRAINING_FACES / rate, 1)})
    result = {"hardware": hardware_description(), "backend": keras.backend.backend(),
              "batch_size": args.batch_size, "threads": os.cpu_count(), "rows": rows}
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['hardware']}, Keras backend {result['backend']}, batch {args.batch_size}")
    print(f"{'architecture':<14} {'precision':<9} {'images/s':>9} {'s/epoch':>8}")
    for row in rows:
        print(f"{row['arch']:<14} {row['precision']:<9} {row['images_per_second']:9.0f} {row['seconds_per_epoch']:8.0f}")


if __name__ == "__main__":
    main()
