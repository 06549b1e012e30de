"""Time each piece of the training step on this machine's Keras backend (find what a GPU waits on).

    KERAS_BACKEND=jax python tools/device/profile_step.py [--arch vgg_fer] [--batch-size 512]

Prints images/second for each augmentation layer alone (jit-compiled, training=True), for the
network's training step without augmentation, and for the whole training step.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402


def rate(step, batch, repeats: int) -> float:
    """Images per second of ``step(batch)`` after a compiling call."""
    import keras

    keras.ops.convert_to_numpy(step(batch))
    started = time.perf_counter()
    for _ in range(repeats):
        out = step(batch)
    keras.ops.convert_to_numpy(out)
    return len(batch) * repeats / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="vgg_fer")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    import keras

    from fer_core.trainer import TrainConfig, augmentation_layers, build_training_model

    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, size=(args.batch_size * 4, 48, 48, 1)).astype("float32")
    labels = keras.utils.to_categorical(rng.integers(0, 7, size=len(faces)), 7)
    batch = keras.ops.convert_to_tensor(faces[: args.batch_size])
    print(f"backend {keras.backend.backend()}, batch {args.batch_size}")
    for resampling in ("sequential", "single"):
        config = TrainConfig(arch=args.arch, erasing=0.25, resampling=resampling, batch_size=args.batch_size)
        for layer in augmentation_layers(config, 1):
            if resampling == "single" and type(layer).__name__ in ("RandomFlip", "RandomErasing"):
                continue  # timed with the sequential layers already
            if keras.backend.backend() == "jax":
                import jax

                step = jax.jit(lambda x, layer=layer: layer(x, training=True))
            else:
                step = lambda x, layer=layer: layer(x, training=True)  # noqa: E731
            print(f"{type(layer).__name__:<18} {rate(step, batch, args.repeats):10.0f} images/s  ({resampling})")
    for name, config in (("network alone", TrainConfig(arch=args.arch, augment=False, batch_size=args.batch_size)),
                         ("whole step", TrainConfig(arch=args.arch, erasing=0.25, batch_size=args.batch_size)),
                         ("whole step, bf16", TrainConfig(arch=args.arch, erasing=0.25, batch_size=args.batch_size,
                                                          mixed_precision=True)),
                         ("whole step, single", TrainConfig(arch=args.arch, erasing=0.25, resampling="single",
                                                            batch_size=args.batch_size))):
        keras.mixed_precision.set_global_policy("mixed_bfloat16" if config.mixed_precision else "float32")
        model = build_training_model(config)
        model.fit(faces[: args.batch_size * 2], labels[: args.batch_size * 2], batch_size=args.batch_size, verbose=0)
        started = time.perf_counter()
        model.fit(faces, labels, batch_size=args.batch_size, epochs=args.repeats // 4 or 1, verbose=0)
        seconds = time.perf_counter() - started
        print(f"{name:<22} {len(faces) * (args.repeats // 4 or 1) / seconds:10.0f} images/s (training step)")


if __name__ == "__main__":
    main()
