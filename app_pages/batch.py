"""Batch: label many photos at once (several uploads or a .zip), one row per face, CSV download."""

import pandas as pd
import streamlit as st

from fer_core.data.photos import SUPPORTED_SUFFIXES
from fer_core.errors import FerError
from fer_core.inference.batch import (
    NO_FACE,
    UNREADABLE,
    label_photos,
    spreadsheet_safe,
    summarize,
    thumbnail_data_url,
    zip_photos,
)
from fer_core.labels import EMOTIONS
from ui.charts import expression_summary
from ui.resources import predictor_for, sidebar_model_picker

st.title("Label many photos")

entry = sidebar_model_picker("batch_model")

uploads = st.file_uploader("Photos, or a .zip of photos", type=[*SUPPORTED_SUFFIXES, "zip"],
                           accept_multiple_files=True, key="batch_uploads",
                           help="Every face of every photo gets a row: file, face number, box, label, confidence "
                                "and all seven probabilities.")
if not uploads:
    st.info("Upload several photos, or one .zip holding a folder of them, then press **Label**.")
    st.stop()
chosen = (str(entry.path), tuple(upload.file_id for upload in uploads))  # what the shown results belong to


def photos_from(files):
    """(name, bytes) of each upload, expanding .zip archives member by member."""
    for file in files:
        if file.name.lower().endswith(".zip"):
            yield from zip_photos(file.getvalue(), file.name, predictor.config.limits)
        else:
            yield file.name, file.getvalue()


try:
    predictor = predictor_for(entry.path)
except FerError as error:
    st.error(str(error))
    st.stop()
if st.button(f"Label {len(uploads)} upload{'s' if len(uploads) != 1 else ''}", type="primary",
             icon=":material/play_arrow:", key="batch_run"):
    st.session_state.pop("batch_results", None)
    bar = st.progress(0.0, text="Starting...")
    expected = max(len(uploads), 1)
    report = lambda done, name: bar.progress(min(done / expected, 1.0), text=f"{done} photos labelled: {name}")
    try:
        rows = [(row.to_record(), thumbnail_data_url(row.crop))
                for row in label_photos(predictor, photos_from(uploads), on_photo=report)]
    except FerError as error:
        st.error(str(error))
        st.stop()
    st.session_state["batch_results"] = (chosen, rows)
    bar.empty()

results = st.session_state.get("batch_results")
if not results or results[0] != chosen:  # nothing labelled yet, or the uploads changed since
    st.stop()
records = [record for record, _ in results[1]]
table = pd.DataFrame.from_records(records)
faces = table[table["face"].notna()].copy()
faces.insert(0, "face crop", [thumbnail for record, thumbnail in results[1] if record["face"] is not None])
faces["face"] = faces["face"].astype(int)

a, b, c, d = st.columns(4)
a.metric("Photos", table["file"].nunique())
b.metric("Faces", len(faces))
c.metric("Photos without a face", int((table["label"] == NO_FACE).sum()))
d.metric("Unreadable photos", int((table["label"] == UNREADABLE).sum()))
st.plotly_chart(expression_summary(summarize(records)), width="stretch", key="batch_summary")
faces[list(EMOTIONS)] = (faces[list(EMOTIONS)] * 100).round().astype(int)  # whole percents: seven columns fit the width
percent = lambda name: st.column_config.NumberColumn(name, format="%d%%", width="small")
st.dataframe(faces, hide_index=True, width="stretch", row_height=56,
             column_order=["face crop", "file", "face", "label", "confidence", *EMOTIONS],
             column_config={"face crop": st.column_config.ImageColumn("face", width="small"),
                            "face": st.column_config.NumberColumn("#", width="small"),
                            "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0,
                                                                          format="percent", width="small"),
                            **{name: percent(name) for name in EMOTIONS}})
for label, what in ((NO_FACE, "No face found in"), (UNREADABLE, "Could not read")):
    missing = table[table["label"] == label]
    if len(missing):
        with st.expander(f"{what} {len(missing)} photo{'s' if len(missing) != 1 else ''}"):
            for row in missing.itertuples():
                st.markdown(f"- `{row.file}`" + (f": {row.error}" if row.error else ""))
download = pd.DataFrame.from_records([spreadsheet_safe(record) for record in records])
st.download_button("Download CSV (every photo, boxes included)", download.to_csv(index=False).encode(),
                   file_name="expressions.csv", mime="text/csv", icon=":material/download:", key="batch_download")
