"""Driving the Live page's in-browser pipeline from Python, for its browser tests and ``bench/live.py``:
a fake webcam for headless Chromium (a Y4M clip it plays as the camera), and photos handed straight
to the pipeline (``static/live/fer_live.mjs``) so its answers can be compared with the server's."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import cv2
import numpy as np

FAKE_CAMERA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def write_y4m(path: str | os.PathLike, frames: list[np.ndarray], fps: int = 30) -> Path:
    """Write RGB uint8 frames (all the same even width and height) as an uncompressed 4:2:0 Y4M clip."""
    height, width = frames[0].shape[:2]
    if width % 2 or height % 2:
        raise ValueError(f"a 4:2:0 clip needs an even width and height, not {width}x{height}")
    path = Path(path)
    with open(path, "wb") as clip:
        clip.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            clip.write(b"FRAME\n")
            clip.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def astronaut_selfie() -> np.ndarray:
    """scikit-image's astronaut, cut to her head and shoulders as a webcam frames them (256 x 256)."""
    import skimage.data

    return skimage.data.astronaut()[10:266, 96:352]


def small_head_turned_by_40() -> np.ndarray:
    """A 320 x 240 grey photo with the astronaut's head, 60 px, turned by 40 degrees: YuNet alone
    scores it under 0.7, its second look (upright, enlarged) finds it."""
    import skimage.data

    head = cv2.resize(skimage.data.astronaut()[30:230, 130:330], (60, 60), interpolation=cv2.INTER_AREA)
    head = cv2.warpAffine(head, cv2.getRotationMatrix2D((30, 30), 40, 1.0), (60, 60), borderMode=cv2.BORDER_REFLECT)
    photo = np.full((240, 320, 3), 120, np.uint8)
    photo[100:160, 130:190] = head
    return photo


# What a small astronaut photo keeps of red, green and blue under each light, its side in pixels
# and its blur: the second look in colour leaves her unconfirmed, the same look in gray finds her.
COLOURED_LIGHTS = {"red": ((1.0, 0.45, 0.35), 112, 1.0), "green": ((0.4, 1.0, 0.4), 128, 1.0),
                   "blue": ((0.35, 0.55, 1.0), 144, 1.5)}


def astronaut_under_coloured_light(light: str) -> tuple[np.ndarray, tuple[float, float]]:
    """A 640 x 360 grey photo with the astronaut shrunk to a small square at (200, 100), lit by
    one of ``COLOURED_LIGHTS`` and slightly blurred, and where her face's centre is."""
    import skimage.data

    keeps, side, blur = COLOURED_LIGHTS[light]
    small = cv2.resize(skimage.data.astronaut(), (side, side), interpolation=cv2.INTER_AREA)
    photo = np.full((360, 640, 3), 90, np.uint8)
    photo[100:100 + side, 200:200 + side] = cv2.GaussianBlur(np.clip(small * np.array(keeps), 0, 255).astype(np.uint8),
                                                             (0, 0), blur)
    return photo, (200 + 223 * side / 512, 100 + 120 * side / 512)  # her face is about (223, 120) of 512


def selfie_frame(face_rgb: np.ndarray, size: tuple[int, int] = (640, 480), face_side: int = 300) -> np.ndarray:
    """A webcam-like frame: the face photo scaled to ``face_side`` pixels in the middle of a grey room."""
    width, height = size
    frame = np.full((height, width, 3), 96, np.uint8)
    face = cv2.resize(face_rgb, (face_side, face_side), interpolation=cv2.INTER_AREA)
    top, left = (height - face_side) // 2, (width - face_side) // 2
    frame[top:top + face_side, left:left + face_side] = face
    return frame


def camera_args(clip: str | os.PathLike) -> list[str]:
    """Chromium flags that grant the camera without asking and play ``clip`` as its picture."""
    return [*FAKE_CAMERA_ARGS, f"--use-file-for-fake-video-capture={clip}"]


ANALYSE_JS = """async ([moduleUrl, photos]) => {
  window.ferPipeline ??= await (await import(moduleUrl)).loadPipeline();
  const results = [];
  for (const [encoded, width, height, channels] of photos) {
    const pixels = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
    const data = new Uint8ClampedArray(4 * width * height);
    for (let i = 0; i < width * height; i++) {
      for (let c = 0; c < 3; c++) data[4 * i + c] = pixels[channels * i + (channels === 3 ? c : 0)];
      data[4 * i + 3] = 255;
    }
    results.push(await window.ferPipeline.analyse({ data, width, height }));
  }
  return results;
}"""


def analyse_in_browser(page, app_url: str, photos: list[np.ndarray]) -> list[list[dict]]:
    """Every face the browser's pipeline finds in each photo (grayscale H x W or RGB H x W x 3
    uint8): ``page`` is a Playwright page, already on any URL of the app at ``app_url``."""
    if not photos:
        return []
    payload = [[base64.b64encode(np.ascontiguousarray(photo).tobytes()).decode(), photo.shape[1], photo.shape[0],
                photo.shape[2] if photo.ndim == 3 else 1] for photo in photos]
    return page.evaluate(ANALYSE_JS, [f"{app_url}/app/static/live/fer_live.mjs", payload])


LABEL_PATTERN = r"^(angry|disgust|fear|happy|sad|surprise|neutral) \d{1,3}%$"


def watch_live_page(browser, app_url: str, seconds: float, warmup_s: float = 4.0) -> dict:
    """Open the Live page in ``browser`` (launched with ``camera_args``), wait for its first label,
    then read the page's own frame rate once a second for ``seconds``.

    Returns the largest face's label text, the fps readings, the median milliseconds of work per
    frame (what is left of a frame's time is room to spare), and the bytes the page sent to the
    server over its websocket (everything the app ever receives from it) while it ran."""
    import re
    import time

    sent = {"bytes": 0, "messages": 0}

    def count(payload) -> None:
        sent["bytes"] += len(payload)
        sent["messages"] += 1

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.on("websocket", lambda socket: socket.on("framesent", count))
    page.goto(f"{app_url}/live")
    label = page.locator(".top-label").first
    deadline = time.monotonic() + 120
    while not re.match(LABEL_PATTERN, label.text_content() or "") and time.monotonic() < deadline:
        time.sleep(0.25)
    page.wait_for_timeout(warmup_s * 1000)
    before = dict(sent)
    readings = []
    for _ in range(int(seconds)):
        page.wait_for_timeout(1000)
        readings.append(page.locator(".fps").first.text_content())
    frame_ms = page.locator(".fps").first.evaluate("e => e.getRootNode().host?.dataset.frameMs")
    return {"page": page, "label": label.text_content(), "fps_text": readings,
            "frame_ms": float(frame_ms) if frame_ms else None,
            "fps": [int(text.split()[0]) for text in readings], "bytes_sent": sent["bytes"] - before["bytes"],
            "bytes_sent_total": sent["bytes"], "messages_sent": sent["messages"] - before["messages"],
            "status": page.locator(".status").first.text_content()}
