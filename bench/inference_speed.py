"""Prediction time per architecture, float32 against int8: the budget for a bigger network.

    python -m bench.inference_speed                                # every architecture but tiny_cnn
    python -m bench.inference_speed --arch vgg_fer vgg_fer_s --json
    python -m bench.inference_speed --arch vgg_fer vgg_fer+vgg_fer_s vgg_fer+vgg_fer   # ensembles too

Each architecture (freshly initialised: the time does not depend on the weights) is exported as
`python -m fer_core export` does: to LiteRT with float32 weights and with int8 weights
(`--quantize dynamic`), and to ONNX in int8 throughout (`--format onnx --quantize static`,
calibrated here on random faces: the time does not depend on the ranges either). Each file is
timed on one face with its mirror image (a batch of 2, as the app classifies), 2 threads for
LiteRT and ONNX Runtime's default for ONNX (a thread a core). The runs alternate between the files
in rounds so that a noisy machine slows them alike; the ratio column compares each with
`vgg_fer_s` in float32, measured in the same run. ``A+B`` is an ensemble of those architectures in one file, as
`python -m fer_core ensemble` writes it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from fer_core.quiet import import_keras

VARIANTS = (("litert", "none"), ("litert", "dynamic"), ("onnx", "static"))  # (format, quantization)

BASELINE = ("vgg_fer_s", "litert", "none")

WEIGHTS = {"none": "float32", "dynamic": "int8 weights", "static": "int8 throughout"}


def build_variant(name: str):
    """A fresh network of architecture ``name``, or for ``A+B`` the ensemble of fresh A and B networks."""
    from fer_core.nets.builders import build_model
    from fer_core.nets.graph import build_ensemble

    if "+" not in name:
        return build_model(name)
    return build_ensemble([build_model(arch) for arch in name.split("+")])


def export_variants(architectures: list[str], folder: Path) -> dict[tuple[str, str, str], Path]:
    """An exported file per architecture (or ensemble), format and quantization."""
    from fer_core.artifacts.exports import export_path_for
    from fer_core.geometry import INPUT_SHAPE
    from fer_core.recipes.export import EXPORT_FORMATS

    calibration = np.random.default_rng(1).integers(0, 256, (32, *INPUT_SHAPE)).astype(np.float32)
    files = {}
    for arch in architectures:
        model = build_variant(arch)
        model(calibration[:1])  # builds the model, which an ONNX export needs
        for kind, quantize in VARIANTS:
            path = export_path_for(folder / f"{arch}_{quantize}.keras", kind)
            EXPORT_FORMATS[kind].write(model, path, quantize=quantize, calibration=calibration)
            files[arch, kind, quantize] = path
    return files


def time_files(files: dict, *, rounds: int, repeats: int) -> dict:
    """Median milliseconds for a face and its mirror image, per file, alternating in rounds."""
    from fer_core.inference.engines import EXPORT_ENGINES, LiteRTEngine

    engines = {key: LiteRTEngine(path, num_threads=2) if key[1] == "litert" else EXPORT_ENGINES[key[1]](path)
               for key, path in files.items()}
    pair = np.random.default_rng(0).integers(0, 256, (2, 48, 48, 1)).astype(np.float32)
    times = {key: [] for key in engines}
    for _ in range(rounds):
        for key, engine in engines.items():
            for _ in range(10):
                engine(pair)
            for _ in range(repeats):
                started = time.perf_counter()
                engine(pair)
                times[key].append(time.perf_counter() - started)
    return {key: 1000 * statistics.median(values) for key, values in times.items()}


def main() -> None:
    import_keras()
    from fer_core.nets.builders import ARCHITECTURES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=[name for name in ARCHITECTURES if name != "tiny_cnn"],
                        help="architecture names; A+B for an ensemble of the two")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    unknown = sorted({arch for name in args.arch for arch in name.split("+")} - set(ARCHITECTURES))
    if unknown:
        parser.error(f"unknown architecture {', '.join(unknown)}; choose from {', '.join(ARCHITECTURES)}")
    architectures = list(dict.fromkeys([BASELINE[0], *args.arch]))
    with tempfile.TemporaryDirectory() as folder:
        files = export_variants(architectures, Path(folder))
        sizes = {key: path.stat().st_size / 1e6 for key, path in files.items()}
        medians = time_files(files, rounds=args.rounds, repeats=args.repeats)
    rows = [{"arch": key[0], "engine": key[1], "weights": WEIGHTS[key[2]], "mb": round(sizes[key], 2),
             "ms": round(medians[key], 2), "ratio": round(medians[key] / medians[BASELINE], 2)} for key in files]
    if args.json:
        print(json.dumps(rows))
        return
    print("| architecture | engine | weights | MB | face + mirror (ms) | time / vgg_fer_s float32 LiteRT |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['arch']} | {row['engine']} | {row['weights']} | {row['mb']:.1f} | {row['ms']:.2f} | "
              f"{row['ratio']:.2f} |")


if __name__ == "__main__":
    main()
