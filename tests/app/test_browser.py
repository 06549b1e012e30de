"""User journeys in a real browser: every page of the app, one server, as a new user goes through it.

Starts ``streamlit run`` on a free local port and drives Debian's headless chromium through
Playwright. Skipped where chromium or Playwright is not installed (.ci/run installs both).
Set FER_SCREENSHOT_DIR to keep the screenshots (the README's pictures are made this way).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from conftest import REPO, SHARED_CSV, csv_text, synthetic_faces, write_clip

from ui.local_server import CHROMIUM, CHROMIUM_ARGS, running_app

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")]


@pytest.fixture
def app_url(tmp_path, tiny_model_path):
    """A running `streamlit run streamlit_app.py`; the shipped model when there is one, else the tiny one."""
    env = {}
    if not (REPO / "models" / "default.keras").exists():
        models = tmp_path / "models"
        models.mkdir()
        shutil.copy(tiny_model_path, models / "default.keras")
        env["FER_MODELS_DIR"] = str(models)
    with running_app(env) as url:
        yield url


@pytest.fixture(params=[pytest.param("synthetic", marks=pytest.mark.slow), pytest.param("fer2013", marks=pytest.mark.slow)])
def journey(request, tmp_path):
    """A server with a models folder of its own (the shipped models copied in), a runs folder and a
    dataset: synthetic faces by default, the real FER2013 file in the slow variant."""
    from fer_core.data.loading import load_dataset

    if request.param == "fer2013":
        if not SHARED_CSV.exists():
            pytest.skip("the real FER2013 file is not here")
        data, max_faces = SHARED_CSV, 2000
    else:
        images, labels = synthetic_faces(n_per_class=40)
        usages = ["PublicTest" if i % 5 == 0 else "Training" for i in range(len(labels))]
        data, max_faces = tmp_path / "faces.csv", 0
        data.write_text(csv_text(images, labels, usages))
    models = tmp_path / "models"
    models.mkdir()
    for shipped in (REPO / "models").glob("*.*"):
        if shipped.suffix in (".keras", ".json", ".tflite", ".onnx"):  # the app runs the .onnx file
            shutil.copy(shipped, models / shipped.name)
    cache = tmp_path / "cache"
    load_dataset(data, cache_dir=cache)  # parsed once here, so the pages' times are the pages' own
    env = {"FER_MODELS_DIR": str(models), "FER_DATA": str(data), "FER_CACHE_DIR": str(cache),
           "FER_RUNS_DIR": str(tmp_path / "runs")}
    with running_app(env) as url:
        yield {"url": url, "models": models, "max_faces": max_faces, "dataset": request.param}


def screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so the viewport grows to fit it first."""
    size = page.viewport_size
    height = page.evaluate("Math.max(...[...document.querySelectorAll('[data-testid=stMain], section.main, "
                           "[data-testid=stAppViewContainer]')].map(e => e.scrollHeight), 0)")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height) + 40, 6000))})
    page.wait_for_timeout(1200)  # charts redraw at the new size
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def open_page(page, title: str, ready: str) -> float:
    """Click ``title`` in the navigation; seconds until the button or label ``ready`` is visible."""
    started = time.monotonic()
    page.get_by_role("link", name=title).click()
    page.get_by_text(ready, exact=True).first.wait_for(timeout=90_000)
    return time.monotonic() - started


def settle(page, where: str, shot: Path, wait_ms: int) -> None:
    """Let the page's charts draw, check it shows no exception, and take its screenshot."""
    page.wait_for_timeout(wait_ms)
    no_exception(page, where)
    screenshot(page, shot)


def no_exception(page, where: str) -> None:
    assert page.locator("[data-testid=stException]").count() == 0, f"{where} raised"
    assert page.locator("[data-testid=stAlertContentError]").count() == 0, f"{where} showed an error"


def test_a_new_users_journey_through_every_page(journey, astronaut_jpeg, cat_png, tmp_path):
    """Upload a selfie, Show why, Batch three photos, a video, Explore, train one epoch, evaluate the result:
    one server, no error; the time of each step is printed (and kept beside the screenshots)."""
    from PIL import Image

    shots = Path(os.environ.get("FER_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    group = tmp_path / "pair.jpg"  # a third photo: two faces side by side
    face = Image.open(astronaut_jpeg).crop((120, 0, 320, 220))
    canvas = Image.new("RGB", (800, 400), (90, 110, 130))
    canvas.paste(face, (80, 90))
    canvas.paste(face.transpose(Image.Transpose.FLIP_LEFT_RIGHT), (500, 90))
    canvas.save(group, quality=92)
    timings: dict[str, float] = {}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        started = time.monotonic()
        page.goto(journey["url"])
        page.get_by_text("Upload a photo or take a selfie to see", exact=False).wait_for(timeout=90_000)
        timings["open Predict (first visit of the server)"] = time.monotonic() - started
        assert page.get_by_text("Deploy", exact=True).count() == 0  # viewer toolbar: no Deploy button

        started = time.monotonic()
        page.locator("input[type=file]").first.set_input_files(str(astronaut_jpeg))
        page.get_by_text("1 face", exact=True).wait_for(timeout=90_000)
        timings["upload a selfie to its result"] = time.monotonic() - started
        result = page.get_by_text(" looks ").first.inner_text()
        assert "looks" in result and page.get_by_text("Face 1:", exact=False).count() > 0
        settle(page, "Predict", shots / "predict.png", wait_ms=1500)

        started = time.monotonic()
        page.get_by_text("Show why: attention heat maps (Grad-CAM)").click()
        page.get_by_text("Heat maps (Grad-CAM): where the model found the evidence").wait_for(timeout=120_000)
        timings["first Show why after the result"] = time.monotonic() - started
        settle(page, "Show why", shots / "predict_explain.png", wait_ms=1500)

        timings["open Batch"] = open_page(page, "Batch", "Photos, or a .zip of photos")
        page.locator("input[type=file]").first.set_input_files([str(astronaut_jpeg), str(cat_png), str(group)])
        started = time.monotonic()
        page.get_by_role("button", name="Label 3 uploads").click()
        page.get_by_text("Download CSV", exact=False).wait_for(timeout=90_000)
        timings["label 3 photos"] = time.monotonic() - started
        settle(page, "Batch", shots / "batch.png", wait_ms=2000)

        clip = tmp_path / "clip.mp4"
        write_clip(clip)
        timings["open Live"] = open_page(page, "Live", "Video file")
        page.get_by_text("Video file", exact=True).first.click()
        page.get_by_text("Frames labelled per second of video", exact=True).wait_for(timeout=90_000)
        page.locator("input[type=file]").first.set_input_files(str(clip))
        page.get_by_text("clip.mp4: 4.0 s", exact=False).wait_for(timeout=90_000)
        started = time.monotonic()
        page.get_by_role("button", name="Label", exact=True).click()
        page.get_by_text("Download CSV", exact=False).wait_for(timeout=90_000)
        timings["label a 4-second video"] = time.monotonic() - started
        assert page.get_by_text("Face 2: mostly", exact=False).count() == 1
        settle(page, "Video", shots / "video.png", wait_ms=2000)

        timings["open Explore"] = open_page(page, "Explore", "Reshuffle")
        page.get_by_text("Data quality").wait_for(timeout=90_000)
        settle(page, "Explore", shots / "explore.png", wait_ms=3000)

        timings["open Train"] = open_page(page, "Train", "Start training")
        page.get_by_label("Epochs (passes over the training faces)", exact=True).fill("1")
        if journey["max_faces"]:
            page.get_by_label("Train on at most this many faces (0: all)", exact=True).fill(str(journey["max_faces"]))
        page.get_by_label("Save as", exact=True).fill("journey")
        started = time.monotonic()
        page.get_by_role("button", name="Start training").click()
        page.get_by_text(re.compile(r"epoch 1/1, batch [1-9]\d*/\d+")).first.wait_for(timeout=120_000)
        timings["Start to the first batch on screen"] = time.monotonic() - started
        page.get_by_text("journey.keras: finished").wait_for(timeout=900_000)
        timings["Start to the saved model"] = time.monotonic() - started
        settle(page, "Train", shots / "train.png", wait_ms=1500)

        timings["open Evaluate"] = open_page(page, "Evaluate", "Split")
        started = time.monotonic()
        page.get_by_text("Can its confidence be trusted?").first.wait_for(timeout=180_000)
        timings["evaluate the shipped model"] = time.monotonic() - started
        models = page.get_by_label("Models (two to compare side by side)", exact=False)
        models.click()
        page.get_by_role("option", name=re.compile("journey")).click()
        page.keyboard.press("Escape")
        started = time.monotonic()
        page.get_by_text(re.compile(r"journey on PublicTest")).wait_for(timeout=180_000)
        page.get_by_text("Can its confidence be trusted?").nth(1).wait_for(timeout=180_000)
        timings["evaluate the trained model beside it"] = time.monotonic() - started
        settle(page, "Evaluate", shots / "evaluate.png", wait_ms=3000)
        charts = page.locator("[data-testid=stPlotlyChart]")  # per model: confusion matrix, reliability diagram
        for index, picture in enumerate(("confusion.png", "calibration.png")):
            charts.nth(index).scroll_into_view_if_needed()
            page.wait_for_timeout(1000)
            charts.nth(index).screenshot(path=str(shots / picture))
        timings["open Predict again"] = open_page(page, "Predict", "No photo at hand? Try an example")
        browser.close()
    assert (journey["models"] / "journey.keras").exists()
    timings = {step: round(seconds, 2) for step, seconds in timings.items()}
    (shots / f"browser_timings_{journey['dataset']}.json").write_text(json.dumps(timings, indent=2))
    print(f"\nbrowser timings ({journey['dataset']} data), seconds:")
    for step, seconds in timings.items():
        print(f"  {step}: {seconds:.2f}")


def test_a_fresh_server_opened_at_a_page_url_shows_that_page_inside_the_app(app_url):
    """A bookmark or a refresh on /train is the first visit after a restart (Community Cloud wakes
    apps up this way): the page must come with the app's navigation, not Streamlit's legacy one."""
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url + "/train")
        page.get_by_text("Train a model").wait_for(timeout=90_000)
        navigation = page.locator("[data-testid=stSidebarNav]")
        navigation.get_by_text("Evaluate", exact=True).wait_for(timeout=30_000)
        assert "streamlit app" not in navigation.inner_text().lower()
        assert page.url.endswith("/train") and page.locator("[data-testid=stException]").count() == 0
        browser.close()
