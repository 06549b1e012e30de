"""Evaluate: accuracy, per-class F1, confusion matrix and worst mistakes; two models side by side."""

import streamlit as st

from fer_core.errors import FerError
from fer_core.evaluate import confident_mistakes, metrics_from_probabilities
from fer_core.modelio import read_card
from fer_core.calibration import reliability_before_after
from ui.charts import confusion_heatmap, reliability_diagram
from ui.resources import available_models, NO_DATA_HELP, dataset_for, dataset_picker, predictor_for
from ui.navigation import stay_in_app_navigation

stay_in_app_navigation()

st.title("Evaluate models")

models = available_models()
if not models:
    st.error("No model found in models/. Train one on the Train page first.")
    st.stop()
chosen = st.multiselect("Models (two to compare side by side)", models, default=models[:1], max_selections=2,
                        format_func=lambda m: m.title, key="evaluate_models")
normalized = st.toggle("Row-normalised confusion matrix", value=True, key="evaluate_normalized")
path = dataset_picker("evaluate")


def show_calibration(calibration: dict | None, key: str) -> None:
    """ECE before and after temperature scaling, and the reliability diagram."""
    if not calibration:
        st.caption("No calibration stored for this model (python -m fer_core calibrate adds one).")
        return
    st.markdown("**Can its confidence be trusted?**")
    a, b, c = st.columns(3)
    a.metric("ECE, raw", f"{calibration['ece_before']:.3f}")
    b.metric("ECE, scaled", f"{calibration['ece_after']:.3f}",
             delta=f"{calibration['ece_after'] - calibration['ece_before']:+.3f}", delta_color="inverse")
    c.metric("Temperature", f"{calibration['temperature']:.2f}")
    st.plotly_chart(reliability_diagram(calibration["reliability_before"], calibration["reliability_after"]),
                    width="stretch", key=f"reliability_{key}")
    st.caption("Expected calibration error over 15 confidence bins: how far, on average, the stated confidence "
               "is from the share of faces the model gets right. Points on the diagonal are perfectly calibrated.")


def show_evaluation(result: dict, title: str, key: str) -> None:
    """Headline metrics, the per-class table and the confusion matrix of one evaluation."""
    st.subheader(title)
    a, b, c = st.columns(3)
    a.metric("Accuracy", f"{result['accuracy']:.1%}")
    b.metric("Loss", f"{result['loss']:.3f}")
    c.metric("Macro-F1", f"{result['macro_f1']:.3f}")
    st.dataframe([{"class": name, **{k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}}
                  for name, row in result["per_class"].items()], hide_index=True, width="stretch")
    matrix = result["confusion_matrix_normalized" if normalized else "confusion_matrix"]
    st.plotly_chart(confusion_heatmap(matrix, normalized), width="stretch", key=f"cm_{key}")


if not chosen:
    st.stop()
columns = st.columns(len(chosen))
if path is None:
    st.markdown(NO_DATA_HELP)
    for column, entry in zip(columns, chosen):
        with column:
            card = read_card(entry.path)
            split = card.get("validation_split")
            if not split:
                st.warning(f"{entry.path.name} has no model card with stored metrics.")
                continue
            show_evaluation(card["metrics"][split], f"{entry.path.stem}: stored {split} metrics from its model card",
                            entry.path.stem)
            show_calibration(card.get("calibration"), entry.path.stem)
    st.stop()

try:
    data = dataset_for(path)
    split = st.selectbox("Split", data.split_names, index=data.split_names.index("PublicTest")
                         if "PublicTest" in data.split_names else 0, key="evaluate_split")
    subset = data.subset(split)
    for column, entry in zip(columns, chosen):
        with column:
            predictor = predictor_for(entry.path)
            with st.spinner(f"Classifying {len(subset):,} faces with {entry.path.stem}..."):
                probabilities = predictor.probabilities(subset.images)
            result = metrics_from_probabilities(probabilities, subset.labels, split=split).to_dict()
            show_evaluation(result, f"{entry.path.stem} on {split} ({len(subset):,} faces)", entry.path.stem)
            if "temperature" in predictor.card:
                show_calibration(reliability_before_after(probabilities, subset.labels, predictor.temperature),
                                 entry.path.stem)
            else:
                show_calibration(None, entry.path.stem)
            st.markdown("**Most confident mistakes**")
            mistakes = confident_mistakes(probabilities, subset.labels, k=12)
            st.image([subset.images[m["row"]] for m in mistakes], width=72,
                     caption=[f"{m['true']} → {m['predicted']} {m['confidence']:.0%}" for m in mistakes])
except FerError as error:
    st.error(str(error))
