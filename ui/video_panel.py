"""Labelling a video file on the server: every face of a few frames a second, a timeline per
tracked face, a table and a CSV. The Live page shows it under *Video file*."""

import pandas as pd
import streamlit as st

from fer_core.errors import FerError
from fer_core.inference.batch import spreadsheet_safe
from fer_core.inference.video import VIDEO_CSV_COLUMNS, VIDEO_SUFFIXES, VideoConfig, label_video, video_info
from ui.charts import emotion_timeline
from ui.resources import predictor_for, saved_upload


def show_video_analysis(entry) -> None:
    """The uploader, the *Label* button and the results, for the model ``entry`` (a catalog entry)."""
    upload = st.file_uploader("A video", type=list(VIDEO_SUFFIXES), key="video_upload",
                              help="mp4, webm, mov, avi or mkv, up to 200 MB. Frames are read on the server, a few a "
                                   "second; every face gets a number that it keeps while it stays in view.")
    rate = st.select_slider("Frames labelled per second of video", [1, 2, 5, 10], value=5, key="video_rate")
    if upload is None:
        st.info("Upload a video, then press **Label**.")
        return
    chosen = (str(entry.path), upload.file_id, rate)  # what the shown results belong to

    try:
        predictor = predictor_for(entry.path)
    except FerError as error:
        st.error(str(error))
        return
    limits = predictor.config.limits
    if upload.size > limits.max_video_bytes:
        st.error(f"{upload.name}: {upload.size / 1e6:,.0f} MB is over the {limits.max_video_bytes / 1e6:,.0f} MB limit "
                 "for a video")
        return
    path = saved_upload(upload)


    def in_words(error: FerError) -> str:
        """The error, naming the upload as the user knows it rather than where the server keeps it."""
        return str(error).replace(str(path), upload.name)


    try:
        info = video_info(path, limits)
    except FerError as error:
        st.error(in_words(error))
        return
    st.caption(f"{upload.name}: {info.seconds:.1f} s, {info.width}x{info.height}, {info.fps:.0f} frames a second")
    if info.labelled_seconds(limits) < info.seconds:
        st.info(f"This app labels the first {info.labelled_seconds(limits) / 60:.0f} minutes of a video; for the "
                "whole clip, run `python -m fer_core predict VIDEO --csv out.csv` on your own machine.")

    if st.button("Label", type="primary", icon=":material/play_arrow:", key="video_run"):
        st.session_state.pop("video_results", None)
        bar = st.progress(0.0, text="Starting...")
        report = lambda time_s, duration_s: bar.progress(min(time_s / max(duration_s, 1e-6), 1.0),
                                                         text=f"{time_s:.1f} of {duration_s:.1f} s")
        try:
            records = [row.to_record() for row in label_video(predictor, path, VideoConfig(samples_per_second=rate),
                                                              on_frame=report)]
        except FerError as error:
            st.error(in_words(error))
            return
        bar.empty()
        st.session_state["video_results"] = (chosen, records)

    results = st.session_state.get("video_results")
    if results is None or results[0] != chosen:
        return
    records = results[1]
    if not records:
        st.warning("No face was found in the sampled frames.")
        return
    faces = sorted({r["face_id"] for r in records})
    st.success(f"{len(faces)} face{'s' if len(faces) != 1 else ''} followed through {len({r['time_s'] for r in records})} "
               f"frames ({len(records)} rows).")
    for face_id in faces:
        own = [r for r in records if r["face_id"] == face_id]
        main = pd.Series([r["label"] for r in own]).value_counts()
        st.subheader(f"Face {face_id}: mostly {main.index[0]} ({main.iloc[0] / len(own):.0%} of its frames)")
        st.caption(f"In view from {own[0]['time_s']:.1f} s to {own[-1]['time_s']:.1f} s")
        st.plotly_chart(emotion_timeline(own), width="stretch", key=f"video_timeline_{face_id}")
    table = pd.DataFrame(records, columns=VIDEO_CSV_COLUMNS)
    st.dataframe(table, hide_index=True, width="stretch")
    csv = pd.DataFrame([spreadsheet_safe(r) for r in records], columns=VIDEO_CSV_COLUMNS).to_csv(index=False)
    st.download_button("Download CSV", csv, file_name=f"{upload.name.rsplit('.', 1)[0]}_faces.csv", mime="text/csv",
                       icon=":material/download:", key="video_csv")
