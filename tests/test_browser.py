"""The user journey in a real browser: open the app, upload a face photo, see the label.

Starts ``streamlit run`` on a free local port and drives Debian's headless chromium through
Playwright. Skipped where chromium or Playwright is not installed (.ci/run installs both).
Set FER_SCREENSHOT_DIR to keep the screenshots (the README's pictures are made this way).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fer_core.labels import EMOTIONS

from conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
playwright = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def app_url(tmp_path, tiny_model_path):
    """A running `streamlit run streamlit_app.py`; the shipped model when there is one, else the tiny one."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if not (REPO / "models" / "default.keras").exists():
        models = tmp_path / "models"
        models.mkdir()
        shutil.copy(tiny_model_path, models / "default.keras")
        env["FER_MODELS_DIR"] = str(models)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_upload_a_photo_and_see_the_label(app_url, astronaut_jpeg, tmp_path):
    shots = Path(os.environ.get("FER_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--disable-sync", "--no-first-run"])
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

        for title, heading in (("Explore", "Explore the data"), ("Train", "Train a model"),
                               ("Evaluate", "Evaluate models")):
            page.get_by_role("link", name=title).click()
            page.get_by_text(heading).wait_for(timeout=90_000)
            page.wait_for_timeout(4000)  # let data-driven elements and charts render
            assert page.locator("[data-testid=stException]").count() == 0, f"{title} page raised"
            page.screenshot(path=str(shots / f"{title.lower()}.png"), full_page=True)
        browser.close()
    timings = {"page_load_s": round(page_load_s, 2), "upload_to_result_s": round(upload_to_result_s, 2)}
    (shots / "browser_timings.json").write_text(json.dumps(timings))
    print(f"\nbrowser timings: {timings}")
