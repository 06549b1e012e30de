"""Speed and footprint of the prediction path, against the seed's pipeline in the same run.

    python -m bench.speed            # the table
    python -m bench.speed --json     # one JSON object
    python -m bench.speed --data ../shared/data/fer2013.csv.gz --train   # + cached CSV load, training
    python -m bench.speed --mirror-every-face   # + the app with flip TTA for every face, taking turns
    python -m bench.speed --against-engine litert   # + the app on the shipped LiteRT file, taking turns

The photos are built here: the astronaut's head (assets/example_astronaut.jpg, public domain)
pasted onto textured canvases, one face on 1280x720 "selfies" and five on 1920x1080 "group
photos", JPEG-encoded like an upload. No dataset is needed for the prediction rows.

The seed's pipeline, implemented as the reference: OpenCV's haarcascade_frontalface_alt on
the full-size photo (scaleFactor 1.3, minNeighbors 5), each crop written to disk with
cv2.imwrite, read back with keras.utils.load_img(grayscale, 48x48), divided by 255 and
classified with model.predict one face at a time, by the seed's own CNN (seed_cnn).

The app mirrors only the faces its model is unsure of (``PredictorConfig.skip_mirror_from``); the
astronaut is a face it is sure of (86-90% happy). ``--mirror-every-face`` times it beside the
same pipeline classifying every face's mirror image too. The app runs the shipped model's int8
ONNX file (``auto``); ``--against-engine`` times it beside the same pipeline on another engine.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent

HEAD_BOX = (120, 10, 330, 250)  # left, top, right, bottom of the astronaut's head in the 512 px photo


# ---------------------------------------------------------------- test photos

def _canvas(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A textured background: a colour gradient with mild noise (plain colour would flatter Haar)."""
    ys, xs = np.mgrid[0:height, 0:width]
    base = np.stack([90 + 60 * xs / width, 110 + 40 * ys / height, 140 - 50 * xs / width], axis=2)
    return np.clip(base + rng.normal(0, 12, (height, width, 3)), 0, 255).astype(np.uint8)


def _paste(canvas: np.ndarray, head: Image.Image, x: int, y: int, height: int, mirror: bool) -> None:
    width = round(head.width * height / head.height)
    patch = head.resize((width, height), Image.Resampling.LANCZOS)
    if mirror:
        patch = patch.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    canvas[y:y + height, x:x + width] = np.asarray(patch)


def _jpeg(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def build_photos(count: int = 6, seed: int = 0) -> dict[str, list[bytes]]:
    """``count`` selfies (1280x720, one face) and group photos (1920x1080, five faces), as JPEG bytes."""
    rng = np.random.default_rng(seed)
    head = Image.open(REPO / "assets" / "example_astronaut.jpg").convert("RGB").crop(HEAD_BOX)
    selfies, groups = [], []
    for _ in range(count):
        canvas = _canvas(1280, 720, rng)
        size = int(rng.integers(330, 480))
        _paste(canvas, head, int(rng.integers(100, 1280 - size - 100)), int(rng.integers(20, 720 - size - 10)),
               size, bool(rng.integers(2)))
        selfies.append(_jpeg(canvas))
        canvas = _canvas(1920, 1080, rng)
        for slot in range(5):
            size = int(rng.integers(230, 320))
            x = 40 + slot * 375 + int(rng.integers(0, 20))
            y = int(rng.integers(60, 1080 - size - 60))
            _paste(canvas, head, x, y, size, bool(slot % 2))
        groups.append(_jpeg(canvas))
    return {"selfie 1280x720, 1 face": selfies, "group 1920x1080, 5 faces": groups}


# ---------------------------------------------------------------- the two pipelines

class SeedPipeline:
    """The seed's way, step for step (see the module docstring)."""

    def __init__(self):
        import cv2
        import keras

        from fer_core.nets.builders import build_model

        self.cv2, self.keras = cv2, keras
        self.cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_alt.xml"))
        self.model = build_model("seed_cnn")
        self.folder = tempfile.mkdtemp(prefix="seed_bench_")

    def __call__(self, data: bytes) -> int:
        cv2 = self.cv2
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        faces = self.cascade.detectMultiScale(gray, 1.3, 5)
        for index, (x, y, w, h) in enumerate(faces):
            path = os.path.join(self.folder, f"face_{index}.png")
            cv2.imwrite(path, gray[y:y + h, x:x + w])
            face = self.keras.utils.load_img(path, color_mode="grayscale", target_size=(48, 48))
            x_face = self.keras.utils.img_to_array(face)[None] / 255.0
            self.model.predict(x_face, verbose=0)
        return len(faces)


class ProjectPipeline:
    """``fer_core.Predictor`` with the shipped model: bytes in, labelled faces out."""

    def __init__(self, skip_mirror_from: float | None = None, engine: str = "auto"):
        from dataclasses import replace

        from fer_core.inference.predictor import Predictor, PredictorConfig

        config = PredictorConfig(engine=engine)
        if skip_mirror_from is not None:
            config = replace(config, skip_mirror_from=skip_mirror_from)
        self.predictor = Predictor.load(config=config)

    def __call__(self, data: bytes) -> int:
        return len(self.predictor.predict(data))


def time_calls(function, inputs: list[bytes], repeats: int) -> tuple[list[float], list[int]]:
    """Milliseconds per call over ``repeats`` passes through ``inputs`` (after one warm-up pass)."""
    found = [function(item) for item in inputs]
    times = []
    for _ in range(repeats):
        for item in inputs:
            start = time.perf_counter()
            function(item)
            times.append((time.perf_counter() - start) * 1000)
    return times, found


def time_alternately(first, second, inputs: list[bytes], repeats: int) -> tuple[list[float], list[float]]:
    """Milliseconds per call of two pipelines, taking turns photo by photo (after a warm-up pass
    each), so that a busy moment on the machine slows both alike."""
    for item in inputs:
        first(item), second(item)
    times = ([], [])
    for _ in range(repeats):
        for item in inputs:
            for function, spent in zip((first, second), times):
                start = time.perf_counter()
                function(item)
                spent.append((time.perf_counter() - start) * 1000)
    return times


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


# ---------------------------------------------------------------- start-up and memory (fresh processes)

_COLD_START = """
import time, sys
from pathlib import Path
from fer_core.inference.predictor import Predictor, PredictorConfig
predictor = Predictor.load(config=PredictorConfig(engine={engine!r}))
faces = predictor.predict(Path({photo!r}).read_bytes())
print(predictor.engine_name, len(faces))
"""

_MEMORY = """
import sys
from pathlib import Path
import streamlit  # the app process has Streamlit loaded too
from fer_core.inference.predictor import Predictor, PredictorConfig

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
predictor = Predictor.load(config=PredictorConfig(engine={engine!r}))
photos = [Path(p).read_bytes() for p in {photos!r}]
marks = {{}}
for i in range(1, 1001):
    predictor.predict(photos[i % len(photos)])
    if i in (100, 1000):
        marks[i] = rss_mb()
print(predictor.engine_name, marks[100], marks[1000])
"""


def cold_start(engine: str, photo: Path, repeats: int = 3) -> tuple[float, str]:
    """Median seconds for a fresh Python: import, load model and detector, first prediction."""
    code = _COLD_START.format(engine=engine, photo=str(photo))
    times, name = [], ""
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
        times.append(time.perf_counter() - start)
        name = done.stdout.split()[0]
    return statistics.median(times), name


def memory(engine: str, photos: list[Path]) -> tuple[float, float, str]:
    """RSS (MB) of a process with Streamlit and the model loaded, after 100 and 1,000 predictions."""
    code = _MEMORY.format(engine=engine, photos=[str(p) for p in photos])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    name, at_100, at_1000 = done.stdout.split()
    return float(at_100), float(at_1000), name


# ---------------------------------------------------------------- optional rows: dataset and training

def cached_csv_load(path: str) -> float:
    """Seconds for the second load of a FER2013 CSV (the first fills the cache)."""
    from fer_core.data.loading import load_dataset

    load_dataset(path)
    start = time.perf_counter()
    load_dataset(path)
    return time.perf_counter() - start


def training_throughput(path: str, steps: int = 40) -> tuple[float, float]:
    """Images/s of seed_cnn: the blog's model.fit (batch 256, Adam, x/255) vs fer_core.train."""
    import keras

    from fer_core.data.loading import load_dataset
    from fer_core.nets.builders import build_model
    from fer_core.training.config import TrainConfig
    from fer_core.training.trainer import train

    data = load_dataset(path).subset("Training")
    n = steps * 256
    x = data.images[:n].astype(np.float32)[..., None] / 255.0
    y = keras.utils.to_categorical(data.labels[:n], 7)
    blog = build_model("seed_cnn")
    blog.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    blog.fit(x[:256], y[:256], batch_size=256, epochs=1, verbose=0)  # build and warm up
    start = time.perf_counter()
    blog.fit(x, y, batch_size=256, epochs=1, verbose=0)
    blog_rate = n / (time.perf_counter() - start)

    small = load_dataset(path)
    config = TrainConfig(arch="seed_cnn", epochs=2, batch_size=256, optimizer="adam", augment=False,
                         schedule="constant", warmup_epochs=0, max_train_samples=n, mixed_precision=True)
    with tempfile.TemporaryDirectory() as work:
        result = train(config, small, out_path=Path(work) / "m.keras", run_dir=Path(work) / "run")
    ours_rate = n / result.history["epoch_seconds"][-1]  # the second epoch: no graph building
    return blog_rate, ours_rate


# ---------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="passes over the photos for the timing rows")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--data", help="a FER2013 CSV for the cached-load (and --train) rows")
    parser.add_argument("--train", action="store_true", help="also measure seed_cnn training throughput")
    parser.add_argument("--mirror-every-face", action="store_true",
                        help="also time the pipeline with every face's mirror image classified (no sure face skips it)")
    parser.add_argument("--against-engine", choices=("onnx", "litert", "keras"),
                        help="also time the pipeline with the model on this engine")
    args = parser.parse_args()

    from fer_core.quiet import import_keras

    import_keras()
    photos = build_photos()
    project, seed = ProjectPipeline(), SeedPipeline()
    others = {}  # pipelines timed taking turns with the app's, so their ratio is not the machine's noise
    if args.mirror_every_face:
        others["every face mirrored"] = ProjectPipeline(skip_mirror_from=1.0)
    if args.against_engine:
        others[f"{args.against_engine} engine"] = ProjectPipeline(engine=args.against_engine)
    rows = []
    for name, inputs in photos.items():
        ours, found = time_calls(project, inputs, args.repeats)
        theirs, seed_found = time_calls(seed, inputs, args.repeats)
        rows.append({"path": name, "median_ms": statistics.median(ours), "p90_ms": percentile(ours, 90),
                     "seed_median_ms": statistics.median(theirs), "seed_p90_ms": percentile(theirs, 90),
                     "speedup": statistics.median(theirs) / statistics.median(ours),
                     "faces_found": found, "seed_faces_found": seed_found})
        rows[-1]["taking_turns"] = {}
        for other_name, other in others.items():
            mine, theirs_too = time_alternately(project, other, inputs, args.repeats)
            rows[-1]["taking_turns"][other_name] = {"app_median_ms": statistics.median(mine),
                                                    "other_median_ms": statistics.median(theirs_too)}

    with tempfile.TemporaryDirectory() as work:
        paths = []
        for index, data in enumerate(photos["selfie 1280x720, 1 face"] + photos["group 1920x1080, 5 faces"]):
            paths.append(Path(work) / f"photo_{index}.jpg")
            paths[-1].write_bytes(data)
        starts = {engine: cold_start(engine, paths[0]) for engine in ("auto", "keras")}
        memories = {engine: memory(engine, paths) for engine in ("auto", "keras")}

    result = {"engine": project.predictor.engine_name, "rows": rows,
              "cold_start_s": {name: seconds for seconds, name in starts.values()},
              "rss_mb": {name: {"after_100": a, "after_1000": b} for a, b, name in memories.values()},
              "machine": f"{os.cpu_count()} cores"}
    if args.data:
        result["cached_csv_load_s"] = cached_csv_load(args.data)
        if args.train:
            blog_rate, ours_rate = training_throughput(args.data)
            result["train_images_per_s"] = {"blog_fit": blog_rate, "fer_core_train": ours_rate,
                                            "ratio": ours_rate / blog_rate}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print_table(result)


def print_table(result: dict) -> None:
    print(f"prediction engine: {result['engine']}  ({result['machine']})\n")
    print("| path | fer_core median ms | p90 ms | seed median ms | seed p90 ms | speed-up | faces found (ours / seed) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for row in result["rows"]:
        print(f"| {row['path']} | {row['median_ms']:.1f} | {row['p90_ms']:.1f} | {row['seed_median_ms']:.1f} | "
              f"{row['seed_p90_ms']:.1f} | {row['speedup']:.1f}x | {sum(row['faces_found'])} / "
              f"{sum(row['seed_faces_found'])} |")
        for other_name, turns in row.get("taking_turns", {}).items():
            mine, other = turns["app_median_ms"], turns["other_median_ms"]
            print(f"| {row['path']}: the app / {other_name}, taking turns | {mine:.1f} / {other:.1f} | | | | "
                  f"{other / mine:.2f}x | |")
    for name, seconds in result["cold_start_s"].items():
        print(f"| cold start ({name}): import, load, first prediction | {seconds:.2f} s | | | | | |")
    for name, marks in result["rss_mb"].items():
        print(f"| RSS with Streamlit + model ({name}), 100 / 1,000 predictions | {marks['after_100']:.0f} MB / "
              f"{marks['after_1000']:.0f} MB | | | | | |")
    if "cached_csv_load_s" in result:
        print(f"| FER2013 CSV, second (cached) load | {result['cached_csv_load_s']:.3f} s | | | | | |")
    if "train_images_per_s" in result:
        t = result["train_images_per_s"]
        print(f"| seed_cnn training, images/s (fer_core / blog fit) | {t['fer_core_train']:.0f} / {t['blog_fit']:.0f} "
              f"| | | | {t['ratio']:.2f}x | |")


if __name__ == "__main__":
    main()
