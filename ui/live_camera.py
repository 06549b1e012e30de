"""The Live page's webcam component: Streamlit Components v2, its HTML, CSS and JavaScript in ``ui/live``.

The component runs the whole pipeline in the visitor's browser (``static/live/fer_live.mjs``
with onnxruntime-web), so no frame is uploaded: the only value it sends back is a still JPEG,
when the user presses *Snapshot*.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Callable

import streamlit as st

from ui.charts import EXPRESSION_COLOURS

ASSETS = Path(__file__).resolve().parent / "live"
STATIC_BASE = "app/static/live/"  # where Streamlit serves static/live (server.enableStaticServing)


@st.cache_resource
def _component():
    return st.components.v2.component(
        "fer_live_camera",
        html=(ASSETS / "camera.html").read_text(),
        css=(ASSETS / "camera.css").read_text(),
        js=(ASSETS / "camera.js").read_text(),
    )


def live_camera(key: str, on_snapshot: Callable[[], None] | None = None, *, detect_side: int = 320):
    """Mount the webcam component; its ``snapshot`` value is a JPEG data URL after each Snapshot press.

    ``detect_side``: the longest side of the copy of each frame the detector sees (the classifier
    crops the full-size frame)."""
    return _component()(key=key, data={"base": STATIC_BASE, "detectSide": detect_side, "colours": EXPRESSION_COLOURS},
                        on_snapshot_change=on_snapshot or (lambda: None))


def snapshot_bytes(data_url: str) -> bytes:
    """The JPEG bytes of a ``data:image/jpeg;base64,...`` URL from the component (ValueError if it is not one)."""
    header, _, payload = (data_url or "").partition(",")
    if not header.startswith("data:image/") or ";base64" not in header:
        raise ValueError("the snapshot is not an image data URL")
    return base64.b64decode(payload, validate=True)
