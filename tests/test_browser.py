"""The user journey in a real browser: open the app, upload a face photo, see the label.

Starts ``streamlit run`` on a free local port and drives Debian's headless chromium through
Playwright. Skipped where chromium or Playwright is not installed (.ci/run installs both).
Set FER_SCREENSHOT_DIR to keep the screenshots (the README's pictures are made this way).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from fer_core.appserver import CHROMIUM, CHROMIUM_ARGS, running_app
from fer_core.labels import EMOTIONS

from conftest import REPO

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


def test_upload_a_photo_and_see_the_label(app_url, astronaut_jpeg, cat_png, tmp_path):
    shots = Path(os.environ.get("FER_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        started = time.monotonic()
        page.goto(app_url)
        page.get_by_text("What does this face say?").wait_for(timeout=90_000)
        page_load_s = time.monotonic() - started

        started = time.monotonic()
        page.locator("input[type=file]").first.set_input_files(str(astronaut_jpeg))
        page.get_by_text("1 face", exact=True).wait_for(timeout=90_000)
        upload_to_result_s = time.monotonic() - started

        result = page.get_by_text("looks").first.inner_text()
        assert any(f"**{label}**" in result or label in result for label in EMOTIONS), result
        assert "%" in result
        page.wait_for_timeout(1500)  # let the charts draw before the screenshot
        page.screenshot(path=str(shots / "predict.png"), full_page=True)

        page.get_by_text("Show why: attention heat maps (Grad-CAM)").click()
        page.get_by_text("Heat maps (Grad-CAM): where the model found the evidence").wait_for(timeout=120_000)
        assert page.get_by_text("why ", exact=False).count() > 0
        page.wait_for_timeout(1500)
        page.screenshot(path=str(shots / "predict_explain.png"), full_page=True)

        for title, heading in (("Explore", "Explore the data"), ("Train", "Train a model"),
                               ("Evaluate", "Evaluate models")):
            page.get_by_role("link", name=title).click()
            page.get_by_text(heading).wait_for(timeout=90_000)
            if title == "Evaluate":  # with a dataset it classifies PublicTest first; without, the card's numbers
                page.get_by_text("Can its confidence be trusted?").first.wait_for(timeout=180_000)
            page.wait_for_timeout(4000)  # let data-driven elements and charts render
            assert page.locator("[data-testid=stException]").count() == 0, f"{title} page raised"
            page.screenshot(path=str(shots / f"{title.lower()}.png"), full_page=True)
        charts = page.locator("[data-testid=stPlotlyChart]")  # the confusion matrix, then the reliability diagram
        assert charts.count() >= 2
        for index, picture in enumerate(("confusion.png", "calibration.png")):
            charts.nth(index).scroll_into_view_if_needed()
            page.wait_for_timeout(1000)
            charts.nth(index).screenshot(path=str(shots / picture))

        page.get_by_role("link", name="Batch").click()
        page.get_by_text("Label many photos").wait_for(timeout=90_000)
        page.locator("input[type=file]").first.set_input_files([str(astronaut_jpeg), str(cat_png)])
        page.get_by_role("button", name="Label 2 uploads").click()
        page.get_by_text("Download CSV").wait_for(timeout=90_000)
        assert page.locator("[data-testid=stException]").count() == 0, "Batch page raised"
        page.wait_for_timeout(2000)
        page.screenshot(path=str(shots / "batch.png"), full_page=True)
        browser.close()
    timings = {"page_load_s": round(page_load_s, 2), "upload_to_result_s": round(upload_to_result_s, 2)}
    (shots / "browser_timings.json").write_text(json.dumps(timings))
    print(f"\nbrowser timings: {timings}")


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
