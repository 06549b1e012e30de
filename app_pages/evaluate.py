"""Evaluate: accuracy, per-class F1, confusion matrix and worst mistakes; two models side by side."""

import streamlit as st

from fer_core.artifacts.cards import read_card
from fer_core.errors import FerError
from fer_core.metrics.calibration import reliability_before_after
from fer_core.metrics.scores import confident_mistakes, metrics_from_probabilities
from ui.charts import confusion_heatmap, reliability_diagram
from ui.resources import (
    NO_DATA_HELP,
    available_models,
    dataset_for,
    dataset_picker,
    predictor_for,
)

st.title("Evaluate models")

models = available_models()
if not models:
    st.error("No model found in models/. Train one on the Train page first.")
    st.stop()

inputs_left, inputs_right = st.columns(2)
with inputs_left:
    chosen = st.multiselect("Models (two to compare side by side)", models, default=models[:1], max_selections=2,
                            format_func=lambda m: m.title, key="evaluate_models")
    normalized = st.toggle("Confusion matrix as shares of each true expression", value=True,
                           key="evaluate_normalized", help="Off: counts of faces.")
with inputs_right:
    path = dataset_picker("evaluate")
    data, split = None, None
    if path is not None:
        try:
            data = dataset_for(path)
        except FerError as error:
            st.error(str(error))
            st.stop()
        split = st.selectbox("Split", data.split_names, key="evaluate_split",
                             index=data.split_names.index("PublicTest") if "PublicTest" in data.split_names else 0,
                             help="PublicTest: the faces models are compared on, never trained on.")


def show_calibration(calibration: dict | None, key: str) -> None:
    """How far the stated confidence is from the share of right answers, raw and as the app uses it."""
    if not calibration:
        st.caption("No calibration stored for this model (python -m fer_core calibrate adds one).")
        return
    st.markdown("**Can its confidence be trusted?** The calibration error (ECE), 0 is perfect:")
    a, b, c = st.columns(3)
    a.metric("Error, raw", f"{calibration['ece_before']:.3f}",
             help="Expected calibration error over 15 confidence bins, of the network's own probabilities.")
    b.metric("Error, as shown", f"{calibration['ece_after']:.3f}",
             help="The same for the probabilities the app displays, after temperature scaling.")
    c.metric("Temperature", f"{calibration['temperature']:.2f}",
             help="Above 1 softens over-confident answers, below 1 sharpens timid ones.")
    st.plotly_chart(reliability_diagram(calibration["reliability_before"], calibration["reliability_after"]),
                    width="stretch", key=f"reliability_{key}")
    st.caption("The calibration error is how far, on average, the stated confidence is from the share of faces "
               "the model gets right; points on the diagonal are perfectly calibrated. Temperature scaling "
               "divides the log-probabilities by one number fitted to minimise the log-loss on these faces, not "
               "the calibration error, so that error may move a little either way; the ranking of the "
               "expressions, hence accuracy, does not change.")


def show_evaluation(result: dict, title: str, key: str) -> None:
    """Headline metrics, the per-class table and the confusion matrix of one evaluation."""
    st.subheader(title)
    a, b, c = st.columns(3)
    a.metric("Accuracy", f"{result['accuracy']:.1%}", help="Share of faces whose expression is right.")
    b.metric("Log-loss", f"{result['loss']:.3f}", help="Mean -log of the probability given to the right "
                                                      "expression: lower is better.")
    c.metric("Balanced F1", f"{result['macro_f1']:.3f}", help="Macro-F1: the F1 score of each expression, "
                                                              "averaged with equal weight (rare ones count fully).")
    st.dataframe([{"expression": name, **{k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}}
                  for name, row in result["per_class"].items()], hide_index=True, width="stretch")
    matrix = result["confusion_matrix_normalized" if normalized else "confusion_matrix"]
    st.plotly_chart(confusion_heatmap(matrix, normalized), width="stretch", key=f"cm_{key}")


if not chosen:
    st.stop()
columns = st.columns(len(chosen))
if data is None:
    st.markdown(NO_DATA_HELP)
    for column, entry in zip(columns, chosen):
        with column:
            card = read_card(entry.path)
            stored_split = card.get("validation_split")
            if not stored_split:
                st.warning(f"{entry.path.name} has no model card with stored metrics.")
                continue
            show_evaluation(card["metrics"][stored_split],
                            f"{entry.path.stem}: stored {stored_split} metrics from its model card", entry.path.stem)
            show_calibration(card.get("calibration"), entry.path.stem)
    st.stop()

subset = data.subset(split)
for column, entry in zip(columns, chosen):
    with column:
        try:
            predictor = predictor_for(entry.path)
            measured = st.session_state.setdefault("evaluate_probabilities", {})  # reruns reuse a measurement
            key = (str(entry.path), entry.path.stat().st_mtime, data.fingerprint, split)
            if key not in measured:
                bar = st.progress(0.0, text=f"Classifying {len(subset):,} faces with {entry.path.stem}...")
                measured[key] = predictor.probabilities(
                    subset.images, on_progress=lambda done, total: bar.progress(
                        done / total, text=f"Classifying faces with {entry.path.stem}: {done:,} of {total:,}"))
                bar.empty()
            probabilities = measured[key]
        except FerError as error:
            st.error(str(error))
            continue
        result = metrics_from_probabilities(probabilities, subset.labels, split=split).to_dict()
        show_evaluation(result, f"{entry.path.stem} on {split} ({len(subset):,} faces)", entry.path.stem)
        if "temperature" in predictor.card:
            show_calibration(reliability_before_after(probabilities, subset.labels, predictor.temperature),
                             entry.path.stem)
        else:
            show_calibration(None, entry.path.stem)
        st.markdown("**Most confident mistakes**")
        mistakes = confident_mistakes(probabilities, subset.labels, k=12)
        if mistakes:
            st.caption("Under each face: its label in the dataset, then what the model said.")
            st.image([subset.images[m["row"]] for m in mistakes], width=72,
                     caption=[f"is {m['true']}, said {m['predicted']} {m['confidence']:.0%}" for m in mistakes])
        else:
            st.caption("No mistakes on these faces.")
