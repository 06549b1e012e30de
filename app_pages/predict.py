"""Predict: upload or snap a photo and see every face's expression."""

import streamlit as st

from fer_core.data.photos import SUPPORTED_SUFFIXES
from fer_core.errors import FerError
from ui.photo_results import show_photo_results
from ui.resources import (
    EXAMPLE_PHOTO,
    photo_upload_mb,
    predictor_for,
    sidebar_model_picker,
)

st.title("What does this face say?")

entry = sidebar_model_picker("predict_model")
try:
    predictor = predictor_for(entry.path)
except FerError as error:
    st.error(str(error))
    st.stop()
predictor.prepare_explanations()  # Grad-CAM's model loads in the background while the user picks a photo

upload_tab, camera_tab = st.tabs(["Upload a photo", "Take a selfie"])
with upload_tab:
    upload = st.file_uploader("Photo", type=list(SUPPORTED_SUFFIXES), key="predict_upload",
                              max_upload_size=photo_upload_mb(predictor),
                              help="JPEG, PNG, WebP, BMP, GIF or TIFF; one face or a group")
with camera_tab:
    snapshot = st.camera_input("Selfie", key="predict_camera")
if st.button("No photo at hand? Try an example", icon=":material/image:", key="predict_example"):
    st.session_state["predict_use_example"] = True
photo = upload or snapshot
if photo is None and not st.session_state.get("predict_use_example"):
    st.info("Upload a photo or take a selfie to see the expression of every face in it.")
    st.stop()
name, photo_bytes = (photo.name, photo.getvalue()) if photo else (EXAMPLE_PHOTO.name, EXAMPLE_PHOTO.read_bytes())

show_photo_results(predictor, photo_bytes, name, key="predict")
