"""Explore: what FER2013 holds, how unbalanced it is, and what is wrong with it."""

import streamlit as st

from fer_core.data.statistics import (
    intensity_histogram,
    mean_faces,
    quality_report,
    sample_indices,
)
from fer_core.errors import FerError
from ui.charts import class_count_bars, histogram
from ui.resources import NO_DATA_HELP, dataset_for, dataset_picker

st.title("Explore the data")

path = dataset_picker("explore")
if path is None:
    st.markdown(NO_DATA_HELP)
    st.stop()
try:
    data = dataset_for(path)
except FerError as error:
    st.error(str(error))
    st.stop()

counts = data.class_counts()
columns = st.columns(len(counts) + 1)
columns[0].metric("Faces", f"{len(data):,}")
for column, (split, per_class) in zip(columns[1:], counts.items()):
    column.metric(split, f"{sum(per_class.values()):,}")
if data.skipped:
    st.warning("Skipped rows: " + ", ".join(f"{n} {why}" for why, n in data.skipped.items()))

st.subheader("Faces per class")
st.caption("FER2013 is unbalanced: *disgust* has about a sixteenth of *happy*'s faces.")
st.plotly_chart(class_count_bars(counts), width="stretch")

st.subheader("Random samples")
if st.button("Reshuffle", icon=":material/shuffle:", key="explore_reshuffle"):
    st.session_state["explore_seed"] = st.session_state.get("explore_seed", 0) + 1
picks = sample_indices(data, per_class=12, seed=st.session_state.get("explore_seed", 0))
for name, rows in picks.items():
    st.markdown(f"**{name}**")
    row = st.columns(12)
    for column, index in zip(row, rows):
        column.image(data.images[index], caption=f"#{index}", width="stretch")

left, right = st.columns(2)
with left:
    st.subheader("Mean face of each class")
    means = mean_faces(data)
    st.image(list(means.values()), caption=list(means), width=96)
with right:
    st.subheader("Pixel intensities")
    st.plotly_chart(histogram(*intensity_histogram(data)), width="stretch")

st.subheader("Data quality")
report = quality_report(data)
st.dataframe([{"finding": k, "count": v} for k, v in report.counts().items()], hide_index=True)


def show_groups(title: str, groups: list[list[int]], limit: int = 6) -> None:
    """A caption, then up to ``limit`` groups of identical images, one row each with split and label."""
    st.markdown(f"**{title}** ({len(groups):,} groups{f', the first {limit} shown' if len(groups) > limit else ''})")
    for group in groups[:limit]:
        st.image([data.images[i] for i in group], width=72,
                 caption=[f"#{i} {data.splits[i]} {data.class_names[data.labels[i]]}" for i in group])


with st.expander("Examples of each finding"):
    if report.near_blank:
        st.markdown(f"**Near-blank images** ({len(report.near_blank):,})")
        st.image([data.images[i] for i in report.near_blank[:12]], caption=[f"#{i}" for i in report.near_blank[:12]],
                 width=72)
    for split, groups in report.duplicate_groups_within.items():
        if groups:
            show_groups(f"The same image twice or more within {split}", groups)
    if report.duplicates_across:
        show_groups("The same image in more than one split (leaks between training and test)",
                    report.duplicates_across)
    if report.conflicting_labels:
        show_groups("The same image with different labels", report.conflicting_labels)
    if not any(report.counts().values()):
        st.caption("No findings: no near-blank images and no duplicates.")
