"""Training throughput per architecture: images/second and seconds per FER2013 epoch.

    python -m bench.train_speed                                  # every architecture, float32 and bf16
    python -m bench.train_speed --arch vgg_fer vgg_fer_s --batches 30 --json
    KERAS_BACKEND=jax python -m bench.train_speed                # on a GPU machine (docs/training-on-a-gpu.md)
    KERAS_BACKEND=jax python -m bench.train_speed --arch vgg_fer --precision bf16 --devices all
    KERAS_BACKEND=jax python -m bench.train_speed --arch vgg_fer --precision bf16 --processes 4

Budget the compute before choosing a network: this times the training step `python -m fer_core
train` runs (augmentation layers, label smoothing, the chosen optimizer), on random 48x48 faces,
after one warm-up pass that also compiles, for each architecture with and without bfloat16
mixed precision. The epoch column is 28,709 Training faces at the measured rate.

Two ways to use several accelerators, or one large one, compare here: ``--devices N`` times one
run whose batches are split over N devices (``python -m fer_core train --devices N``);
``--processes N`` starts N runs side by side, each timed on its own, and adds up their rates.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from fer_core.quiet import import_keras

TRAINING_FACES = 28_709


def images_per_second(arch: str, mixed_precision: bool, *, batch_size: int, batches: int,
                      optimizer: str, resampling: str = "sequential", devices: str = "1") -> float:
    """Faces per second through one training step of ``arch`` (after a compiling warm-up pass), its
    batches split over ``devices``."""
    import numpy as np

    from fer_core.training.config import TrainConfig
    from fer_core.training.devices import DeviceConfig, plan_devices
    from fer_core.training.training_model import build_training_model

    keras = import_keras()
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if mixed_precision else "float32")
    config = TrainConfig(arch=arch, batch_size=batch_size, optimizer=optimizer, erasing=0.25,
                         label_smoothing=0.1, mixed_precision=mixed_precision, resampling=resampling)
    with plan_devices(DeviceConfig.parse(devices), batch_size).scope():
        model = build_training_model(config)
        rng = np.random.default_rng(0)
        faces = rng.integers(0, 256, size=(batch_size * batches, 48, 48, 1)).astype("float32")
        labels = keras.utils.to_categorical(rng.integers(0, 7, size=len(faces)), 7)
        model.fit(faces[: batch_size * 2], labels[: batch_size * 2], batch_size=batch_size, epochs=1, verbose=0)
        started = time.perf_counter()
        model.fit(faces, labels, batch_size=batch_size, epochs=1, verbose=0)
        return len(faces) / (time.perf_counter() - started)


def side_by_side(processes: int, argv: list[str]) -> list[dict]:
    """Rows of ``processes`` copies of this benchmark run at once: each row's rate is the sum of the
    copies' rates (each copy timed on its own, so the sum holds while all of them ran)."""
    copies = [subprocess.Popen([sys.executable, "-m", "bench.train_speed", *argv, "--json"], stdout=subprocess.PIPE,
                               text=True) for _ in range(processes)]
    results = [json.loads(copy.communicate()[0].strip().splitlines()[-1]) for copy in copies]
    rows = []
    for index, row in enumerate(results[0]["rows"]):
        rate = sum(result["rows"][index]["images_per_second"] for result in results)
        rows.append({**row, "images_per_second": round(rate, 1), "seconds_per_epoch": round(TRAINING_FACES / rate, 1)})
    return rows


def without_option(argv: list[str], option: str) -> list[str]:
    """``argv`` less ``option`` and its value (``--x 2`` or ``--x=2``) and less ``--json``."""
    kept, skip = [], False
    for token in argv:
        if skip or token == "--json" or token.startswith(option + "="):
            skip = False
            continue
        if token == option:
            skip = True
            continue
        kept.append(token)
    return kept


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
    parser.add_argument("--devices", default="1", metavar="N|all",
                        help="split each batch over N devices, as train --devices does (KERAS_BACKEND=jax)")
    parser.add_argument("--processes", type=int, default=1,
                        help="run N copies side by side and add up their rates (the epoch column is then "
                             "the time of N runs' epochs together)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    keras = import_keras()
    if args.processes > 1:
        rows = side_by_side(args.processes, without_option(sys.argv[1:], "--processes"))
    else:
        rows = []
        for arch in args.arch:
            for precision in args.precision:
                rate = images_per_second(arch, precision == "bf16", batch_size=args.batch_size, batches=args.batches,
                                         optimizer=args.optimizer, resampling=args.resampling, devices=args.devices)
                rows.append({"arch": arch, "precision": precision, "images_per_second": round(rate, 1),
                             "seconds_per_epoch": round(TRAINING_FACES / rate, 1)})
    result = {"hardware": hardware_description(), "backend": keras.backend.backend(),
              "batch_size": args.batch_size, "threads": os.cpu_count(), "devices": args.devices,
              "processes": args.processes, "rows": rows}
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['hardware']}, Keras backend {result['backend']}, batch {args.batch_size}, "
          f"devices {args.devices}, processes {args.processes}")
    print(f"{'architecture':<14} {'precision':<9} {'images/s':>9} {'s/epoch':>8}")
    for row in rows:
        print(f"{row['arch']:<14} {row['precision']:<9} {row['images_per_second']:9.0f} {row['seconds_per_epoch']:8.0f}")


if __name__ == "__main__":
    main()
