"""The Live page in headless Chromium: its frame rate on a fake webcam, and how often its
in-browser pipeline gives the server's answer on PublicTest faces.

    python -m bench.live [--seconds 20] [--faces 0] [--data ../shared/data/fer2013.csv.gz] [--json]

Frame rate: the app runs on a local port and Chromium plays a Y4M clip of the astronaut's head
(640x480, 30 frames a second) as its webcam; the page's own "NN fps" reading is taken once a
second after a warm-up. It counts frames fully analysed (detection, crop, classification,
drawing), so it can never exceed the camera's 30; the median milliseconds of that work per frame
say how much faster a faster camera could go.

Agreement: each PublicTest face, upscaled 3x (bicubic) onto a 224x224 grey photo, goes through
the browser's pipeline (``static/live/fer_live.mjs``) and through the server's ``Predictor`` with
the same network (``static/live/models/expression.onnx``). A photo agrees when both find the same
number of faces and give each the same label; the shipped ensemble's answer on the same photos is
measured too, for scale.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
PHOTO_SIDE, FACE_SIDE = 224, 144


def public_test_photo(face: np.ndarray) -> np.ndarray:
    """A 48 x 48 FER2013 face, upscaled to 144 px in the middle of a 224 x 224 grey photo."""
    photo = np.full((PHOTO_SIDE, PHOTO_SIDE), 128, np.uint8)
    offset = (PHOTO_SIDE - FACE_SIDE) // 2
    photo[offset:offset + FACE_SIDE, offset:offset + FACE_SIDE] = cv2.resize(face, (FACE_SIDE, FACE_SIDE),
                                                                              interpolation=cv2.INTER_CUBIC)
    return photo


def agreement_on_public_test(page, app_url: str, data_path, limit: int = 0, chunk: int = 100,
                             with_shipped_model: bool = True) -> dict:
    """Browser against server on PublicTest photos (the first ``limit``; 0: all); with
    ``with_shipped_model``, the shipped ensemble's answers on the same photos too."""
    from fer_core.data.loading import load_dataset
    from fer_core.inference.engines import OnnxEngine
    from fer_core.inference.predictor import Predictor, PredictorConfig
    from fer_core.labels import EMOTIONS
    from fer_core.recipes.live import LIVE_DETECTOR
    from ui.live_harness import analyse_in_browser

    faces = load_dataset(data_path).subset("PublicTest")
    images, labels = (faces.images[:limit], faces.labels[:limit]) if limit else (faces.images, faces.labels)
    server = Predictor(OnnxEngine(REPO / "static" / "live" / "models" / "expression.onnx"),
                       config=PredictorConfig(detector=LIVE_DETECTOR))
    shipped = Predictor.load() if with_shipped_model else None
    same = found = largest_probability_gap = 0.0
    correct = {"browser": 0, "server": 0, "shipped model": 0}
    agree_with_shipped = 0
    for start in range(0, len(images), chunk):
        photos = [public_test_photo(face) for face in images[start:start + chunk]]
        for photo, label, in_browser in zip(photos, labels[start:start + chunk],
                                           analyse_in_browser(page, app_url, photos)):
            on_server = server.predict(photo)
            by_shipped = shipped.predict(photo) if shipped else []
            same += [f["label"] for f in in_browser] == [f.label for f in on_server]
            found += bool(on_server)
            for face, reference in zip(in_browser, on_server):
                gap = np.abs(np.array(face["probabilities"]) - list(reference.probabilities.values())).max()
                largest_probability_gap = max(largest_probability_gap, float(gap))
            truth = EMOTIONS[int(label)]
            correct["browser"] += bool(in_browser) and in_browser[0]["label"] == truth
            correct["server"] += bool(on_server) and on_server[0].label == truth
            correct["shipped model"] += bool(by_shipped) and by_shipped[0].label == truth
            agree_with_shipped += bool(in_browser) and bool(by_shipped) and in_browser[0]["label"] == by_shipped[0].label
    n = len(images)
    if not shipped:
        correct.pop("shipped model")
    return {"photos": n, "agreement": same / n, "face_found": found / n,
            "largest_probability_gap": largest_probability_gap,
            "accuracy_on_photos": {name: value / n for name, value in correct.items()},
            "same_label_as_shipped_model": agree_with_shipped / n if shipped else None}


def frame_rate(app_url: str, seconds: int) -> dict:
    """The Live page's own fps readings on the fake webcam, and the bytes it sent meanwhile."""
    from playwright.sync_api import sync_playwright

    from ui.live_harness import astronaut_selfie, camera_args, selfie_frame, watch_live_page, write_y4m
    from ui.local_server import CHROMIUM, CHROMIUM_ARGS

    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        clip = write_y4m(Path(folder) / "selfie.y4m", [selfie_frame(astronaut_selfie())] * 30)
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + camera_args(clip))
        seen = watch_live_page(browser, app_url, seconds=seconds)
        browser.close()
    return {"fps_median": float(np.median(seen["fps"])), "fps_readings": seen["fps"], "label": seen["label"],
            "work_ms_per_frame": seen["frame_ms"],
            "bytes_sent_while_live": seen["bytes_sent"], "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="seconds of webcam video to read the fps over")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "fer2013.csv.gz"),
                        help="FER2013 CSV for the agreement check (skipped when absent)")
    parser.add_argument("--faces", type=int, default=0, help="PublicTest faces to compare (0: all)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from ui.local_server import CHROMIUM, CHROMIUM_ARGS, running_app

    results = {}
    with running_app() as url:
        results["frame_rate"] = frame_rate(url, args.seconds)
        if Path(args.data).exists():
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page()
                page.goto(f"{url}/app/static/live/models/live.json")
                results["agreement"] = agreement_on_public_test(page, url, args.data, args.faces)
                browser.close()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    rate = results["frame_rate"]
    print(f"Live page, one face, 640x480 fake webcam: median {rate['fps_median']:.0f} fps over {rate['seconds']} s "
          f"(readings {rate['fps_readings']}), {rate['work_ms_per_frame']:.1f} ms of work a frame; largest face "
          f"{rate['label']!r}; "
          f"{rate['bytes_sent_while_live']} bytes sent to the server meanwhile")
    if "agreement" in results:
        a = results["agreement"]
        print(f"PublicTest photos: {a['photos']}; browser and server give the same answer on {a['agreement']:.2%} "
              f"(a face found on {a['face_found']:.1%}; largest probability gap {a['largest_probability_gap']:.1e})")
        print("  accuracy on these photos: " + ", ".join(f"{k} {v:.2%}" for k, v in a["accuracy_on_photos"].items())
              + f"; the browser's label is the shipped model's on {a['same_label_as_shipped_model']:.2%}")


if __name__ == "__main__":
    main()
