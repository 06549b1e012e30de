"""Live: the webcam's faces and expressions in real time, computed in this browser; or a video file."""

import json

import streamlit as st

from fer_core.errors import FerError
from fer_core.paths import LIVE_MODELS_DIR
from ui.live_camera import live_camera, snapshot_bytes
from ui.photo_results import show_photo_results
from ui.resources import predictor_for, sidebar_model_picker
from ui.video_panel import show_video_analysis

st.title("Live expressions")

entry = sidebar_model_picker("live_model")
source = st.segmented_control("Source", ["Camera", "Video file"], default="Camera", key="live_source",
                              label_visibility="collapsed")
if source == "Video file":
    show_video_analysis(entry)
    st.stop()

manifest_path = LIVE_MODELS_DIR / "live.json"
if not manifest_path.is_file():
    st.error("The Live page's models are missing (static/live/models). Write them with "
             "`python -m fer_core export-live --data fer2013.csv.gz`.")
    st.stop()
expression = json.loads(manifest_path.read_text())["expression"]
st.caption(":material/lock: Your camera's frames never leave this computer: faces are found and read in this "
           "browser tab, and nothing is uploaded unless you press **Snapshot**.")

result = live_camera(key="live_camera")
accuracy = expression["accuracy"]
st.caption(f"In the browser: the shipped model's fastest network ({expression['network'].split('_', 1)[-1]}, "
           f"{accuracy['onnx (flip TTA)']:.1%} on {accuracy['split']}, against "
           f"{expression['source_accuracy']:.1%} for the whole model). *Snapshot* sends one still to the server, "
           "which reads it with the model chosen in the sidebar and can show why.")

if not result.snapshot:
    st.stop()
try:
    photo = snapshot_bytes(result.snapshot)
    predictor = predictor_for(entry.path)
except (ValueError, FerError) as error:
    st.error(f"The snapshot could not be read: {error}")
    st.stop()
st.subheader("Snapshot")
show_photo_results(predictor, photo, "snapshot.jpg", key="live_snapshot")
