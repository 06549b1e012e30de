"""Plotly figures for the pages; they only lay out numbers the engine computed."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go

from fer_core.labels import EMOTIONS

# One colour per expression, the same on every chart that tells them apart (the batch's counts, a
# video's timelines and the Live page's, which gets them from ``ui.live_camera``).
EXPRESSION_COLOURS = {"angry": "#d62728", "disgust": "#7f9a2e", "fear": "#8c62c8", "happy": "#ffb300",
                      "sad": "#1f77b4", "surprise": "#17becf", "neutral": "#9e9e9e"}
NOT_AN_EXPRESSION = "#c0c0c0"  # photos without a face, unreadable ones


def probability_bars(probabilities: dict[str, float], highlight: str | None = None) -> go.Figure:
    """Horizontal bars of the seven class probabilities."""
    names = list(probabilities)
    colours = ["#ffc400" if name == highlight else "#8aa1b4" for name in names]
    figure = go.Figure(go.Bar(x=[probabilities[n] for n in names], y=names, orientation="h", marker_color=colours,
                              text=[f"{probabilities[n]:.0%}" for n in names], textposition="auto"))
    figure.update_layout(height=230, margin=dict(l=0, r=0, t=0, b=0), xaxis=dict(range=[0, 1], tickformat=".0%"),
                         yaxis=dict(autorange="reversed"))
    return figure


def class_count_bars(counts: dict[str, dict[str, int]]) -> go.Figure:
    """Rows per class, one bar group per split."""
    rows = [{"split": split, "class": name, "rows": n} for split, per in counts.items() for name, n in per.items()]
    figure = px.bar(rows, x="class", y="rows", color="split", barmode="group", text_auto=True)
    figure.update_layout(height=360, margin=dict(l=0, r=0, t=10, b=0))
    return figure


def histogram(counts, edges) -> go.Figure:
    """Pixel-intensity histogram."""
    figure = go.Figure(go.Bar(x=edges[:-1], y=counts, width=edges[1] - edges[0], marker_color="#8aa1b4"))
    figure.update_layout(height=280, margin=dict(l=0, r=0, t=10, b=0), xaxis_title="pixel value",
                         yaxis_title="pixels", bargap=0)
    return figure


def learning_curves(history: dict[str, list[float]]) -> go.Figure:
    """Loss (left) and accuracy (right) per epoch, on the training faces and on validation (with EMA,
    validation scores the averaged weights, and ``val_accuracy_raw`` the last step's)."""
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=2, subplot_titles=("loss (lower is better)", "accuracy"))
    names = {"loss": "training", "val_loss": "validation", "accuracy": "training", "val_accuracy": "validation",
             "val_accuracy_raw": "validation, last step's weights"}
    colours = {"loss": "#1f77b4", "accuracy": "#1f77b4", "val_loss": "#ff8c00", "val_accuracy": "#ff8c00",
               "val_accuracy_raw": "#8aa1b4"}
    for key, dash in (("loss", None), ("val_loss", "dot"), ("accuracy", None), ("val_accuracy", "dot"),
                      ("val_accuracy_raw", "dash")):
        values = history.get(key, [])
        if values:
            figure.add_scatter(x=list(range(1, len(values) + 1)), y=values, name=names[key], mode="lines+markers",
                               line=dict(dash=dash, color=colours[key]), row=1, col=2 if "accuracy" in key else 1,
                               legendgroup=names[key], showlegend="accuracy" in key)
    figure.update_layout(height=340, margin=dict(l=0, r=0, t=30, b=0), legend=dict(orientation="h", y=-0.25))
    figure.update_xaxes(title_text="epoch", dtick=max(1, len(history.get("loss", [])) // 10))
    figure.update_yaxes(range=[0, 1], tickformat=".0%", row=1, col=2)
    return figure


def confusion_heatmap(matrix, normalized: bool) -> go.Figure:
    """Confusion matrix with labelled axes: rows true classes, columns predicted."""
    figure = px.imshow(matrix, x=list(EMOTIONS), y=list(EMOTIONS), text_auto=".2f" if normalized else "d",
                       aspect="auto", color_continuous_scale="Blues",
                       labels=dict(x="the model said", y="the face is", color="share" if normalized else "faces"))
    figure.update_layout(height=520, margin=dict(l=0, r=0, t=10, b=0),
                         coloraxis_colorbar=dict(thickness=14, len=0.9, xpad=6))
    return figure


def reliability_diagram(before: list[dict], after: list[dict] | None = None) -> go.Figure:
    """Accuracy against confidence per bin; the diagonal is perfect calibration, marker size the face count."""
    figure = go.Figure()
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                       line=dict(dash="dot", color="#888"))
    for bins, name, colour in ((before, "raw", "#8aa1b4"), (after, "temperature-scaled", "#ff8c00")):
        filled = [b for b in bins or [] if b["count"]]
        if not filled:
            continue
        largest = max(b["count"] for b in filled)
        figure.add_scatter(x=[b["confidence"] for b in filled], y=[b["accuracy"] for b in filled],
                           mode="lines+markers", name=name, line=dict(color=colour),
                           marker=dict(size=[6 + 14 * b["count"] / largest for b in filled]),
                           customdata=[b["count"] for b in filled],
                           hovertemplate="confidence %{x:.0%}<br>accuracy %{y:.0%}<br>%{customdata} faces")
    figure.update_layout(height=360, margin=dict(l=0, r=0, t=10, b=0), legend=dict(orientation="h", y=-0.2),
                         xaxis=dict(title="confidence (top probability)", range=[0, 1], tickformat=".0%"),
                         yaxis=dict(title="accuracy", range=[0, 1], tickformat=".0%"))
    return figure


def expression_summary(summary: dict[str, int]) -> go.Figure:
    """Faces per expression across a batch (plus photos with no face or unreadable ones)."""
    names = list(summary)
    colours = [EXPRESSION_COLOURS.get(name, NOT_AN_EXPRESSION) for name in names]
    figure = go.Figure(go.Bar(x=names, y=[summary[n] for n in names], marker_color=colours,
                              text=[summary[n] for n in names], textposition="auto"))
    figure.update_layout(height=300, margin=dict(l=0, r=0, t=10, b=0), yaxis_title="faces / photos",
                         yaxis=dict(rangemode="tozero", tickformat="d", dtick=max(1, round(max(summary.values(),
                                                                                               default=1) / 5))))
    return figure


def emotion_timeline(records: list[dict]) -> go.Figure:
    """One face's expression over a video: the seven probabilities at each sampled frame, stacked."""
    rows = [{"time (s)": r["time_s"], "expression": name, "probability": r[name]} for r in records for name in EMOTIONS]
    figure = px.area(rows, x="time (s)", y="probability", color="expression", category_orders={"expression": EMOTIONS},
                     color_discrete_map=EXPRESSION_COLOURS)
    figure.update_layout(height=260, margin=dict(l=0, r=0, t=10, b=0), yaxis=dict(range=[0, 1], tickformat=".0%"),
                         legend_title_text="")
    return figure
