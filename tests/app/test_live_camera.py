"""The Live page's component on the Python side: what it sends back, and what it loads."""

from __future__ import annotations

import base64
import json

import pytest
from conftest import REPO

from ui.live_camera import ASSETS, STATIC_BASE, snapshot_bytes


def test_a_snapshot_data_url_gives_back_its_jpeg_bytes(astronaut_jpeg):
    jpeg = astronaut_jpeg.read_bytes()
    assert snapshot_bytes("data:image/jpeg;base64," + base64.b64encode(jpeg).decode()) == jpeg


@pytest.mark.parametrize("value", ["", "hello", "data:text/plain;base64,aGk=", "data:image/jpeg;base64,@@@"])
def test_anything_else_is_refused_with_a_value_error(value):
    with pytest.raises(ValueError):
        snapshot_bytes(value)


def test_everything_the_component_loads_is_in_the_repository():
    """The component, the pipeline, the runtime and the models: nothing comes from a CDN."""
    static = REPO / STATIC_BASE.removeprefix("app/")
    for path in [ASSETS / name for name in ("camera.html", "camera.css", "camera.js")] + [
            static / "fer_live.mjs", static / "ort" / "ort.wasm.bundle.min.mjs", static / "ort" / "LICENSE",
            static / "ort" / "ort-wasm-simd-threaded.mjs", static / "ort" / "ort-wasm-simd-threaded.wasm"]:
        assert path.is_file(), path
    for own in (ASSETS / "camera.js", static / "fer_live.mjs"):  # every URL they load is relative to the app
        assert "http:" not in own.read_text() and "https:" not in own.read_text()
    manifest = json.loads((static / "models" / "live.json").read_text())
    assert (static / "models" / manifest["detector"]["file"]).is_file()
    assert (static / "models" / manifest["expression"]["file"]).is_file()
