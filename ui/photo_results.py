"""The results of one photo: every face boxed on it, with its label, probabilities and, on request,
Grad-CAM heat maps. The Predict page shows an uploaded photo this way, the Live page a snapshot."""

import streamlit as st

from fer_core.data.photos import load_rgb
from fer_core.errors import FerError
from fer_core.inference.predictor import confidence_in_words
from fer_core.inference.render import annotate, draw_landmarks, overlay_on_face, overlay_on_photo
from fer_core.labels import ADJECTIVES, EMOTIONS
from ui.charts import probability_bars


def show_photo_results(predictor, photo_bytes: bytes, name: str, key: str) -> None:
    """Find, classify and show every face of the photo; ``key`` prefixes the widgets' keys."""
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
            if st.toggle("Classify the whole image instead", key=f"{key}_whole"):
                faces = predictor.predict(rgb, whole_image_if_no_face=True)
    except FerError as error:
        st.error(str(error))
        return
    if faces.capped:
        st.warning(f"{faces.found} faces found; the {len(faces)} largest are shown (the limit is "
                   f"{predictor.config.limits.max_faces} faces per photo).")

    explain = bool(faces) and st.toggle("Show why: attention heat maps (Grad-CAM)", key=f"{key}_explain",
                                        help="Where the model looked to decide: red is the strongest evidence.")
    explained_class = None
    if explain:
        explained_class = st.selectbox("Explain which expression", ["the predicted one", *EMOTIONS],
                                       key=f"{key}_explain_class")
        explained_class = None if explained_class == "the predicted one" else explained_class
        with st.spinner("Computing heat maps..."):
            heats = [predictor.explain(face, explained_class) for face in faces]
        heated = overlay_on_photo(rgb, [(face.box, heat) for face, heat in zip(faces, heats)])
        shown = annotate(draw_landmarks(heated, faces), faces)
    else:
        heats = [None] * len(faces)
        shown = annotate(rgb, faces) if faces else rgb

    picture, results = st.columns([3, 2])
    picture.image(shown, width="stretch")
    if explain:
        landmarks = " Dots: the eyes, nose tip and mouth corners the detector found." \
            if any(face.landmarks for face in faces) else ""
        picture.caption(f"Heat maps (Grad-CAM): where the model found the evidence for "
                        f"{explained_class or 'its answer'}; red is the strongest, blue none.{landmarks}")
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
                turned = abs(face.turned_by) >= max(1.0, predictor.config.detector.min_turn)  # as crop_detection
                crop.caption("model input" + (f", turned {abs(face.turned_by):.0f}° upright" if turned else ""))
            else:
                crop.image(overlay_on_face(face.crop, heat), width=96)
                crop.caption(f"why {explained_class or face.label}")
            chart.plotly_chart(probability_bars(face.probabilities, face.label), width="stretch",
                               key=f"{key}_bars_{number}")
            if face.uncertain:
                st.caption(f"The best guess, {face.label}, has {face.confidence:.0%}: below "
                           f"{predictor.uncertain_below:.0%} this model is wrong more often than right on test faces.")
            else:
                st.caption(f"{where} looks **{ADJECTIVES[face.label]}**.")
