"""Predict: upload or snap a photo and see every face's expression."""

import streamlit as st

from fer_core.data.photos import SUPPORTED_SUFFIXES, load_rgb
from fer_core.errors import FerError
from fer_core.inference.predictor import confidence_in_words
from fer_core.inference.render import annotate, overlay_on_face, overlay_on_photo
from fer_core.labels import ADJECTIVES, EMOTIONS
from ui.charts import probability_bars
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

ahead = predictor.busy_with
waiting = (f"Other visitors' photos are being labelled ({ahead} ahead of yours); yours is next in line..."
           if ahead else "Finding faces...")
try:
    with st.spinner(waiting, show_time=bool(ahead)):
        rgb = load_rgb(photo_bytes, name=name, limits=predictor.config.limits)
        faces = predictor.predict(rgb)
    if not faces:
        st.warning("No face found in this photo. Faces are found best when they look at the camera, upright "
                   "and not too small.")
        if st.toggle("Classify the whole image instead", key="predict_whole"):
            faces = predictor.predict(rgb, whole_image_if_no_face=True)
except FerError as error:
    st.error(str(error))
    st.stop()
if faces.capped:
    st.warning(f"{faces.found} faces found; the {len(faces)} largest are shown (the limit is "
               f"{predictor.config.limits.max_faces} faces per photo).")

explain = bool(faces) and st.toggle("Show why: attention heat maps (Grad-CAM)", key="predict_explain",
                                    help="Where the model looked to decide: red is the strongest evidence.")
explained_class = None
if explain:
    explained_class = st.selectbox("Explain which expression", ["the predicted one", *EMOTIONS],
                                   key="predict_explain_class")
    explained_class = None if explained_class == "the predicted one" else explained_class
    with st.spinner("Computing heat maps..."):
        heats = [predictor.explain(face, explained_class) for face in faces]
    shown = annotate(overlay_on_photo(rgb, [(face.box, heat) for face, heat in zip(faces, heats)]), faces)
else:
    heats = [None] * len(faces)
    shown = annotate(rgb, faces) if faces else rgb

picture, results = st.columns([3, 2])
picture.image(shown, width="stretch")
if explain:
    picture.caption(f"Heat maps (Grad-CAM): where the model found the evidence for "
                    f"{explained_class or 'its answer'}; red is the strongest, blue none.")
if faces:
    whole = faces[0].whole_image
    results.subheader("The whole image" if whole else f"{len(faces)} face{'s' if len(faces) != 1 else ''}")
for number, (face, heat) in enumerate(zip(faces, heats), start=1):
    where = "The whole image" if face.whole_image else f"Face {number}"
    with results.container(border=True):
        if face.uncertain:
            st.markdown(f"**{where}: uncertain** · perhaps {face.label}, {face.confidence:.0%}")
        else:
            st.markdown(f"**{where}: {face.label}** · {face.confidence:.0%}, {confidence_in_words(face.confidence)}")
        crop, chart = st.columns([1, 3], vertical_alignment="center")
        if heat is None:
            crop.image(face.crop, width=96)
            crop.caption("model input")
        else:
            crop.image(overlay_on_face(face.crop, heat), width=96)
            crop.caption(f"why {explained_class or face.label}")
        chart.plotly_chart(probability_bars(face.probabilities, face.label), width="stretch",
                           key=f"bars_{number}")
        if face.uncertain:
            st.caption(f"The best guess, {face.label}, has {face.confidence:.0%}: below "
                       f"{predictor.uncertain_below:.0%} this model is wrong more often than right on test faces.")
        else:
            st.caption(f"{where} looks **{ADJECTIVES[face.label]}**.")
