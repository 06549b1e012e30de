"""Does prediction stay responsive while someone else trains, and does training start and stop
promptly while someone predicts? Two browser sessions, one app.

    python -m bench.responsiveness                                   # synthetic training data
    python -m bench.responsiveness --data ../shared/data/fer2013.csv.gz --json
    python -m bench.responsiveness --busy 2                          # plus two CPU-bound processes
    python -m bench.responsiveness --visitors 8 --uploads 5          # eight visitors upload at once

Starts the app (the shipped model, copied to a temporary models folder so nothing in the repo
changes) and opens two independent sessions in Debian's headless chromium:

1. Session B uploads photos on the Predict page, alternating a selfie and a five-face group photo,
   and times each upload until its result is on screen: the baseline.
2. Session A starts a training run on the Train page (the form's defaults: vgg_fer_s, batch 128)
   and times Start until the page shows a finished batch.
3. While that run is training, session B repeats the same uploads: the latency under load.
4. Session A presses Stop and times it until the batch counter stops moving (training halted)
   and until the page says the run stopped (the best epoch saved and measured for its card).

``--busy N`` starts N processes that spin on the CPU at normal priority for the whole run: a
busy machine, where a training thread at low priority used to starve.
All figures come from the same run on the same machine, so their ratios are what to compare.

``--visitors N`` measures something else: N visitors (browser tabs) upload at the same moment (no training),
with the predictor's own time per photo and the CPU seconds the server and the browsers used.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ui.local_server import CHROMIUM, CHROMIUM_ARGS, running_app

REPO = Path(__file__).resolve().parent.parent


def build_photos(folder: Path) -> list[tuple[Path, str]]:
    """A selfie (one face) and a group photo (five faces) from bench/speed.py, with the heading the
    Predict page shows for each."""
    from bench.speed import build_photos as speed_photos

    built = speed_photos(count=1)
    (folder / "selfie.jpg").write_bytes(built["selfie 1280x720, 1 face"][0])
    (folder / "group.jpg").write_bytes(built["group 1920x1080, 5 faces"][0])
    return [(folder / "selfie.jpg", "1 face"), (folder / "group.jpg", "5 faces")]


def synthetic_dataset(path: Path, rows: int = 6000, seed: int = 0) -> Path:
    """A FER2013-format CSV of random faces (only the load it puts on the machine matters here)."""
    rng = np.random.default_rng(seed)
    with gzip.open(path, "wt") as out:
        out.write("emotion,pixels,Usage\n")
        for index in range(rows):
            pixels = " ".join(map(str, rng.integers(0, 256, 2304)))
            out.write(f"{index % 7},{pixels},{'PublicTest' if index % 10 == 0 else 'Training'}\n")
    return path


def time_uploads(page, photos: list[tuple[Path, str]], count: int) -> list[float]:
    """Seconds from choosing each photo to its face-count heading being on screen."""
    seconds = []
    for index in range(count):
        photo, heading = photos[index % len(photos)]
        started = time.monotonic()
        page.locator("input[type=file]").first.set_input_files(str(photo))
        page.get_by_text(heading, exact=True).wait_for(timeout=120_000)
        seconds.append(time.monotonic() - started)
    return seconds


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"n": len(values), "median_s": round(statistics.median(values), 3),
            "p90_s": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 3),
            "max_s": round(ordered[-1], 3)}


def busy_processes(count: int) -> list:
    """``count`` processes spinning on the CPU at normal priority (stopped by the caller)."""
    import subprocess

    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def time_stop(page, name: str) -> tuple[float, float]:
    """Press Stop; seconds until the batch counter stops moving, and until the page says the run stopped."""
    counter = page.get_by_text(re.compile(r"epoch \d+/\d+, batch \d+/\d+")).first
    pressed = time.monotonic()
    page.get_by_role("button", name="Stop after this batch").click()
    last_text, last_change = counter.inner_text(), pressed
    stopped = page.get_by_text(f"{name}: stopped", exact=True)
    while stopped.count() == 0:
        if time.monotonic() - pressed > 600:
            raise TimeoutError("the run did not stop within 10 minutes")
        text = counter.inner_text() if counter.count() else last_text
        if text != last_text:
            last_text, last_change = text, time.monotonic()
        page.wait_for_timeout(200)
    return last_change - pressed, time.monotonic() - pressed


def measure(data: Path | None, uploads: int, busy: int = 0) -> dict:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="fer-responsiveness-"))
    spinners = []
    try:
        models = work / "models"
        models.mkdir()
        for shipped in (REPO / "models").glob("default.*"):
            shutil.copy(shipped, models / shipped.name)
        dataset = data.resolve() if data else synthetic_dataset(work / "synthetic.csv.gz")
        photos = build_photos(work)
        env = {"FER_MODELS_DIR": str(models), "FER_DATA": str(dataset), "FER_CACHE_DIR": str(work / "cache")}
        spinners = busy_processes(busy)
        with running_app(env) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            predicting = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            training = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()

            predicting.goto(url)
            predicting.get_by_text("What does this face say?").wait_for(timeout=90_000)
            time_uploads(predicting, photos, 2)  # warm-up: model and detector loaded, page drawn
            baseline = time_uploads(predicting, photos, uploads)

            training.goto(url)
            training.get_by_role("link", name="Train").click()
            training.get_by_role("button", name="Start training").wait_for(timeout=120_000)
            started = time.monotonic()
            training.get_by_role("button", name="Start training").click()
            first_batch = training.get_by_text(re.compile(r"epoch 1/\d+, batch [1-9]\d*/\d+")).first
            first_batch.wait_for(timeout=300_000)
            first_batch_s = time.monotonic() - started
            started_at = first_batch.inner_text()
            during = time_uploads(predicting, photos, uploads)
            still_training = training.get_by_text("my_model.keras: training").count() > 0
            counter = training.get_by_text(re.compile(r"epoch \d+/\d+, batch \d+/\d+")).first
            progress = f"{started_at} -> {counter.inner_text()}"
            halted_s, stopped_s = time_stop(training, "my_model.keras")
            browser.close()
    finally:
        for spinner in spinners:
            spinner.kill()
        shutil.rmtree(work, ignore_errors=True)
    return {"dataset": str(data) if data else "synthetic (6,000 random faces)", "busy_processes": busy,
            "predict_alone": summary(baseline), "predict_while_training": summary(during),
            "median_ratio": round(statistics.median(during) / statistics.median(baseline), 2),
            "start_to_first_batch_s": round(first_batch_s, 2), "stop_to_halt_s": round(halted_s, 2),
            "stop_to_stopped_s": round(stopped_s, 2),
            "training_still_running_after_uploads": still_training, "training_progress_seen": progress}


def cpu_seconds(match: str) -> float:
    """CPU seconds (user + system) used so far by the processes whose command line contains ``match``
    (Linux /proc; 0 elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if match not in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            continue
    return total


def measure_sessions(sessions: int, uploads: int) -> dict:
    """``sessions`` browser sessions upload photos at the same moment, ``uploads`` each; the seconds
    from choosing each photo to its result, and, for comparison, what the predictor itself takes for
    the same photos in this process (the rest is the browsers, Streamlit and waiting for a core)."""
    import asyncio

    from playwright.async_api import async_playwright

    from fer_core.inference.predictor import Predictor

    work = Path(tempfile.mkdtemp(prefix="fer-sessions-"))
    try:
        models = work / "models"
        models.mkdir()
        for shipped in (REPO / "models").glob("default.*"):
            shutil.copy(shipped, models / shipped.name)
        photos = build_photos(work)
        predictor = Predictor.load(models / "default.keras")
        predictor.predict(photos[0][0])  # warm-up
        compute = []
        for index in range(2 * len(photos)):
            started = time.monotonic()
            predictor.predict(photos[index % len(photos)][0])
            compute.append(time.monotonic() - started)

        async def one_session(browser, url: str, number: int, latencies: list, waiting_seen: list) -> None:
            page = await (await browser.new_context(viewport={"width": 1200, "height": 900})).new_page()
            await page.goto(url)
            await page.get_by_text("What does this face say?").wait_for(timeout=300_000)
            for index in range(uploads):
                photo, heading = photos[(number + index) % len(photos)]
                started = time.monotonic()
                await page.locator("input[type=file]").first.set_input_files(str(photo))
                while True:  # note whether the page said the photo was queued while waiting for its result
                    if await page.get_by_text("ahead of yours", exact=False).count():
                        waiting_seen.append(number)
                    if await page.get_by_text(heading, exact=True).count():
                        break
                    if time.monotonic() - started > 300:
                        raise TimeoutError(f"session {number}: no result within 300 s")
                    await page.wait_for_timeout(100)
                latencies.append(time.monotonic() - started)

        async def run(url: str) -> tuple[list, list, float]:
            latencies, waiting_seen = [], []
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                started = time.monotonic()
                await asyncio.gather(*(one_session(browser, url, n, latencies, waiting_seen) for n in range(sessions)))
                wall = time.monotonic() - started
                browser_cpu.append(cpu_seconds("chromium"))  # before the browser closes
                await browser.close()
            return latencies, waiting_seen, wall

        env = {"FER_MODELS_DIR": str(models), "FER_CACHE_DIR": str(work / "cache")}
        with running_app(env) as url:
            server_before, browser_cpu = cpu_seconds("streamlit run"), []
            latencies, waiting_seen, wall = asyncio.run(run(url))
            used = {"server_cpu_s": round(cpu_seconds("streamlit run") - server_before, 1),
                    "browser_cpu_s": round(browser_cpu[0], 1)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"sessions": sessions, "uploads_each": uploads, "completed": len(latencies), "wall_s": round(wall, 1),
            "upload_to_result": summary(latencies), "predictor_alone": summary(compute),
            "sessions_told_they_were_queued": len(set(waiting_seen)), **used,
            "predictor_cpu_s": round(statistics.median(compute) * len(latencies), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="FER2013 CSV for the training session (default: synthetic)")
    parser.add_argument("--uploads", type=int, default=10, help="timed uploads per phase (default 10)")
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound processes to run alongside (default 0)")
    parser.add_argument("--visitors", type=int, default=0,
                        help="instead: this many visitors (browser tabs) upload at once, --uploads each (no training)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"error: {CHROMIUM} is not installed (apt-get install chromium)")
    if args.visitors:
        result = measure_sessions(args.visitors, args.uploads)
        if args.json:
            print(json.dumps(result))
            return
        load, alone = result["upload_to_result"], result["predictor_alone"]
        print(f"{result['sessions']} sessions x {result['uploads_each']} uploads: {result['completed']} completed "
              f"in {result['wall_s']:.0f} s; upload to result median {load['median_s']:.2f} s, p90 "
              f"{load['p90_s']:.2f} s, max {load['max_s']:.2f} s; the predictor alone takes "
              f"{alone['median_s'] * 1000:.0f} ms a photo (median); {result['sessions_told_they_were_queued']} "
              "sessions were told their photo was queued")
        print(f"CPU seconds during the run (2 cores x {result['wall_s']:.0f} s available): the app server "
              f"{result['server_cpu_s']:.0f} (of which the predictor about {result['predictor_cpu_s']:.0f}), "
              f"the browsers {result['browser_cpu_s']:.0f}")
        return
    result = measure(args.data, args.uploads, args.busy)
    if args.json:
        print(json.dumps(result))
        return
    print(f"training data: {result['dataset']}; training seen at: {result['training_progress_seen']!r}")
    print("| predict (upload to result) | median | p90 | max |\n| --- | ---: | ---: | ---: |")
    for label, key in (("alone", "predict_alone"), ("while another session trains", "predict_while_training")):
        row = result[key]
        print(f"| {label} | {row['median_s']:.2f} s | {row['p90_s']:.2f} s | {row['max_s']:.2f} s |")
    print(f"median ratio (training / alone): {result['median_ratio']:.2f}x; "
          f"training still running after the uploads: {result['training_still_running_after_uploads']}")
    print(f"Start to the first batch on screen: {result['start_to_first_batch_s']:.1f} s; Stop to the last "
          f"batch: {result['stop_to_halt_s']:.1f} s; Stop to 'stopped' (best epoch saved and measured): "
          f"{result['stop_to_stopped_s']:.1f} s; busy processes alongside: {result['busy_processes']}")


if __name__ == "__main__":
    main()
