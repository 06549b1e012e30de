"""Train: configure a run, start it in the background, watch it live, stop it cleanly."""

import getpass
import re
import time

import streamlit as st

from fer_core.errors import FerError
from fer_core.models import ARCHITECTURES, DESCRIPTIONS
from fer_core.runs import unfinished_runs
from fer_core.train import TrainConfig
from ui.charts import learning_curves
from ui.resources import models_dir, NO_DATA_HELP, REPO_ROOT, dataset_for, dataset_picker, get_job_manager
from ui.navigation import stay_in_app_navigation

MIXING = {"none": {}, "MixUp (alpha 0.2)": {"mixup": 0.2}, "CutMix (alpha 1.0)": {"cutmix": 1.0}}  # TrainConfig fields
EMA_MOMENTUM = 0.999  # the weight average's momentum per step when the page's EMA toggle is on

stay_in_app_navigation()

st.title("Train a model")
manager = get_job_manager()
job = manager.current


@st.fragment(run_every=1.0)
def job_panel() -> None:
    """Live view of the server's training job, refreshed every second without rerunning the page."""
    current = manager.current
    if current is None:
        return
    progress = current.progress
    st.subheader(f"{current.out_path.name}: {current.status}")
    st.caption(f"started by {current.owner} at {time.strftime('%H:%M:%S', time.localtime(current.started_at))}")
    if progress is not None:
        st.progress(progress.batch / max(progress.batches, 1),
                    text=f"epoch {progress.epoch}/{progress.epochs}, batch {progress.batch}/{progress.batches}")
        eta = f", about {progress.eta_s / 60:.1f} min left" if progress.eta_s and current.running else ""
        st.progress(progress.fraction_done, text=f"overall {progress.fraction_done:.0%}{eta}")
        if progress.history.get("loss"):
            st.plotly_chart(learning_curves(progress.history), width="stretch")
    elif current.running:
        st.info("Loading data and building the model...")
    if current.running and not current.stop_event.is_set():
        if st.button("Stop after this batch", icon=":material/stop:", key="train_stop"):
            current.stop()
    if current.error:
        st.error(current.error)
    if current.result is not None and current.result.model_path:
        card = current.result.card
        metrics = card["metrics"][card["validation_split"]]
        st.success(f"Saved {current.result.model_path.name}: {metrics['accuracy']:.1%} accuracy on "
                   f"{card['validation_split']} after {card['training']['epochs_run']} epochs.")


def unfinished_runs_panel(data_path) -> None:
    """Runs that stopped before their last epoch (the Stop button, a server restart), each with a Continue button."""
    runs = unfinished_runs(REPO_ROOT / "runs")
    if not runs:
        return
    st.subheader("Unfinished runs")
    st.caption("A run continues from its last completed epoch with its own settings, on the dataset chosen above "
               "(it must be the data it started on).")
    for run in runs:
        target = run.out_path or models_dir() / f"{run.name}.keras"
        with st.container(border=True):
            st.markdown(f"**{run.name}**: {run.describe()}")
            if run.trained_by is not None:
                st.caption(f"Process {run.trained_by} is training this run now (from the command line?).")
                continue
            left, middle, right = st.columns([2, 2, 1], vertical_alignment="bottom")
            until = left.number_input("Train until epoch", run.epochs_done + 1, 500,
                                      max(run.epochs, run.epochs_done + 1), key=f"resume_epochs_{run.name}")
            replace = False
            if target.exists() and not run.writes_to(target):
                replace = middle.checkbox(f"Replace {target.name}", key=f"resume_replace_{run.name}")
            if right.button("Continue", key=f"resume_{run.name}", icon=":material/play_arrow:"):
                try:
                    config = TrainConfig.from_dict({**run.config, "epochs": int(until)})
                    dataset = dataset_for(data_path)
                    manager.start(getpass.getuser(), config, lambda: dataset, target, run.run_dir,
                                  overwrite=replace, resume=True)
                except FerError as error:
                    st.error(str(error))


if job is not None and job.running:
    st.info(f"{job.owner} is training {job.out_path.name}. One training job runs at a time; its progress is below.")
else:
    path = dataset_picker("train")
    if path is None:
        st.markdown(NO_DATA_HELP)
    else:
        defaults = TrainConfig()
        with st.form("train"):
            left, right = st.columns(2)
            arch = left.selectbox("Architecture", list(ARCHITECTURES), index=list(ARCHITECTURES).index(defaults.arch),
                                  help="\n\n".join(f"**{k}**: {v}" for k, v in DESCRIPTIONS.items()))
            epochs = left.number_input("Epochs", 1, 500, 10)
            batch_size = left.select_slider("Batch size", [16, 32, 64, 128, 256], value=defaults.batch_size)
            learning_rate = left.number_input("Learning rate", 1e-5, 1.0, defaults.learning_rate, format="%.4f")
            augment = right.toggle("Augmentation (flips, shifts, rotation, zoom)", value=True)
            class_weighting = right.selectbox("Class weights", ["none", "sqrt", "balanced"])
            label_smoothing = right.slider("Label smoothing", 0.0, 0.3, 0.0, 0.05)
            max_samples = right.number_input("Use at most this many training faces (0: all)", 0, 100_000, 0, 1000)
            name = right.text_input("Save as", "my_model", help="letters, digits, - and _; saved in models/")
            replace = right.checkbox("Replace a model with this name (including the shipped default)")
            owner = right.text_input("Your name", getpass.getuser())
            with st.expander("Regularisation: for networks that memorise their training faces"):
                first, second = st.columns(2)
                weight_decay = first.number_input("Weight decay (AdamW)", 0.0, 0.5, defaults.weight_decay,
                                                  format="%.4f")
                erasing = first.slider("Random erasing (probability a face loses a patch)", 0.0, 0.5, 0.0, 0.05,
                                       key="train_erasing")
                mixing = second.selectbox("Mix pairs of faces and their labels", list(MIXING), key="train_mixing",
                                          help="MixUp blends two faces; CutMix pastes a patch of one into the "
                                               "other. The labels mix in the same proportion.")
                single = second.toggle("One affine transform per face (sharper training faces)",
                                       help="rotation, shift and zoom in one resampling instead of three; "
                                            "the shipped default was trained this way", key="train_single")
                ema = second.toggle("Keep a moving average of the weights (EMA)", key="train_ema",
                                    help=f"Polyak averaging, momentum {EMA_MOMENTUM} a step: validation scores the "
                                         "averaged weights and the last step's, and the model keeps whichever "
                                         "scored higher (the average leads mid-schedule, less so at the end)")
            submitted = st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:")
        if submitted:
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
                st.error("The name may hold letters, digits, - and _ only (at most 64).")
            else:
                try:
                    config = TrainConfig(arch=arch, epochs=int(epochs), batch_size=int(batch_size),
                                         learning_rate=float(learning_rate), augment=augment,
                                         class_weighting=class_weighting, label_smoothing=float(label_smoothing),
                                         max_train_samples=int(max_samples), warmup_epochs=min(2, int(epochs) - 1),
                                         weight_decay=float(weight_decay), erasing=float(erasing),
                                         resampling="single" if single else "sequential",
                                         ema=EMA_MOMENTUM if ema else 0.0, **MIXING[mixing])
                    dataset = dataset_for(path)
                    manager.start(owner or "someone", config, lambda: dataset, models_dir() / f"{name}.keras",
                                  REPO_ROOT / "runs" / name, overwrite=replace)
                except FerError as error:
                    st.error(str(error))
        unfinished_runs_panel(path)

job_panel()
