"""Batch: label many photos at once (several uploads or a .zip), one row per face, CSV download."""

import pandas as pd
import streamlit as st

from fer_core.batch import label_photos, summarize, zip_photos
from fer_core.errors import FerError
from fer_core.images import SUPPORTED_SUFFIXES
from ui.charts import expression_summary
from ui.resources import predictor_for, sidebar_model_picker
from ui.navigation import stay_in_app_navigation

stay_in_app_navigation()

st.title("Label many photos")

entry = sidebar_model_picker("batch_model")

uploads = st.file_uploader("Photos, or a .zip of photos", type=[*SUPPORTED_SUFFIXES, "zip"],
                           accept_multiple_files=True, key="batch_uploads",
                           help="Every face of every photo gets a row: file, face number, box, label, confidence "
                                "and all seven probabilities.")
if not uploads:
    st.info("Upload several photos, or one .zip holding a folder of them, then press **Label**.")
    st.stop()


def photos_from(files):
    """(name, bytes) of each upload, expanding .zip archives member by member."""
    for file in files:
        if file.name.lower().endswith(".zip"):
            yield from zip_photos(file.getvalue(), file.name, predictor.config.limits)
        else:
            yield file.name, file.getvalue()


predictor = predictor_for(entry.path)
if st.button(f"Label {len(uploads)} upload{'s' if len(uploads) != 1 else ''}", type="primary",
             icon=":material/play_arrow:", key="batch_run"):
    bar = st.progress(0.0, text="Starting...")
    expected = max(len(uploads), 1)
    report = lambda done, name: bar.progress(min(done / expected, 1.0), text=f"{done} photos labelled: {name}")
    try:
        st.session_state["batch_records"] = [row.to_record() for row in
                                             label_photos(predictor, photos_from(uploads), on_photo=report)]
    except FerError as error:
        st.error(str(error))
        st.stop()
    bar.progress(1.0, text="Done")

records = st.session_state.get("batch_records")
if not records:
    st.stop()
table = pd.DataFrame.from_records(records)
photos = table["file"].nunique()
faces = int(table["face"].notna().sum())
a, b, c = st.columns(3)
a.metric("Photos", photos)
b.metric("Faces", faces)
c.metric("Unreadable photos", int((table["label"] == "unreadable").sum()))
st.plotly_chart(expression_summary(summarize(records)), width="stretch", key="batch_summary")
st.dataframe(table, hide_index=True, width="stretch",
             column_config={"confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0,
                                                                          format="percent")})
st.download_button("Download CSV", table.to_csv(index=False).encode(), file_name="expressions.csv",
                   mime="text/csv", icon=":material/download:", key="batch_download")
