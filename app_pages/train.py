"""Train: configure a run, start it in the background, watch it live, stop it cleanly."""

import time

import streamlit as st

from fer_core.backend import keras_backend_name
from fer_core.errors import FerError
from fer_core.nets.architectures import architecture, offered_architectures
from fer_core.training.config import TrainConfig
from fer_core.training.runs import unfinished_runs
from fer_core.training.shipped_recipe import (
    CPU_DESCRIPTION,
    JAX_CPU_SLOWDOWN,
    ShippedNetwork,
    ShippedRecipe,
    shipped_recipe,
)
from ui.charts import learning_curves
from ui.forms import EMA_MOMENTUM, MIXING, TrainForm
from ui.resources import (
    NO_DATA_HELP,
    dataset_picker,
    get_job_manager,
    models_dir,
    runs_dir,
)

STAGE_TEXT = {"loading": "Preparing", "train_begin": "Starting", "finishing": "Finishing"}


st.title("Train a model")
manager = get_job_manager()
job = manager.current


@st.fragment(run_every=1.0)
def job_panel() -> None:
    """Live view of the server's training job, refreshed every second without rerunning the page."""
    current = manager.current
    if current is None:
        return
    if current.running:
        st.session_state["train_watching"] = True
    elif st.session_state.pop("train_watching", False):
        st.rerun(scope="app")  # the run ended: the whole page offers the form again
    progress = current.progress
    status = {"running": "training", "stopping": "stopping after this batch"}.get(current.status, current.status)
    st.subheader(f"{current.out_path.name}: {status}")
    st.caption(f"started by {current.owner} at {time.strftime('%H:%M:%S', time.localtime(current.started_at))}")
    if progress is not None and progress.stage in STAGE_TEXT and current.running:
        st.info(f"{STAGE_TEXT[progress.stage]}: {progress.message or 'compiling the model'}...")
    if progress is not None and progress.batches:
        st.progress(progress.batch / max(progress.batches, 1),
                    text=f"epoch {progress.epoch}/{progress.epochs}, batch {progress.batch}/{progress.batches}")
        eta = f", about {progress.eta_s / 60:.1f} min left" if progress.eta_s and current.running else ""
        st.progress(progress.fraction_done, text=f"overall {progress.fraction_done:.0%}{eta}")
    if progress is not None and progress.history.get("loss"):
        st.plotly_chart(learning_curves(progress.history), width="stretch")
    elif progress is None and current.running:
        st.info("Starting the training process...")
    if current.running and current.status == "running" and not (progress and progress.stage == "finishing"):
        if st.button("Stop after this batch", icon=":material/stop:", key="train_stop",
                     help="The best epoch so far is saved as the model; the run can be continued later."):
            current.stop()
    if current.error:
        st.error(current.error)
    if current.note:
        st.info(current.note)
    if current.result is not None and current.result.model_path:
        card = current.result.card
        metrics = card["metrics"][card["validation_split"]]
        epochs = card["training"]["epochs_run"]
        st.success(f"Saved {current.result.model_path.name}: right on {metrics['accuracy']:.1%} of the "
                   f"{card['validation_split']} faces after {epochs} epoch{'s' if epochs != 1 else ''}. "
                   "Pick it in the sidebar of Predict, or compare it on Evaluate.")


def unfinished_runs_panel(data_path) -> None:
    """Runs that stopped before their last epoch (the Stop button, a server restart), each with a Continue button."""
    runs = unfinished_runs(runs_dir())
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
                    manager.start("someone", config, data_path, target, run.run_dir, overwrite=replace, resume=True)
                    st.rerun()
                except FerError as error:
                    st.error(str(error))


OWN_SETTINGS = "own"


@st.cache_data
def recipe_of(model_path: str) -> ShippedRecipe | None:
    """How the ensemble at ``model_path`` was made, as its card records it (None when it does not)."""
    try:
        return shipped_recipe(model_path)
    except FerError:
        return None


def shipped() -> ShippedRecipe | None:
    """How the app's default model was made."""
    return recipe_of(str(models_dir() / "default.keras"))


def shipped_networks() -> tuple[ShippedNetwork, ...]:
    recipe = shipped()
    return recipe.networks if recipe else ()


def preset_form(choice: str) -> TrainForm:
    """The form's answers for a choice of the settings picker."""
    if choice == OWN_SETTINGS:
        return TrainForm()
    index = int(choice)
    return TrainForm.from_config(shipped_networks()[index].config, f"shipped_net_{index + 1}")


def fill_form() -> None:
    """The settings picker changed: the form takes the chosen settings."""
    st.session_state.update(preset_form(st.session_state["train_preset"]).widget_values())


def settings_picker() -> None:
    """Own settings, or those of one of the shipped model's networks, with what training it costs."""
    networks = shipped_networks()
    count = len(networks)
    labels = {OWN_SETTINGS: "My own settings",
              **{str(i): f"Reproduce the shipped model: network {i + 1} of {count} ({architecture(n.config.arch).title})"
                 for i, n in enumerate(networks)}}
    choice = st.selectbox("Settings", list(labels), format_func=labels.get, key="train_preset", on_change=fill_form,
                          help="The shipped model averages networks trained with these settings.")
    for key, value in preset_form(OWN_SETTINGS).widget_values().items():
        st.session_state.setdefault(key, value)
    if choice == OWN_SETTINGS:
        return
    network = networks[int(choice)]
    plain, bf16 = network.cpu_hours(False), network.cpu_hours(True)
    cpu = (f"about {plain:.0f} hours on {CPU_DESCRIPTION} with bfloat16 off ({bf16:.0f} with it on; a CPU "
           "without bfloat16 instructions is several times slower with it on)" if plain and bf16
           else "not measured on a CPU")
    if keras_backend_name() == "jax":
        cpu += (f", under TensorFlow; Keras computes with JAX here, which trains about {JAX_CPU_SLOWDOWN:g} times "
                "slower on a CPU")
    gpu = network.hardware.split("; ")[-1]
    st.info(f"Network {int(choice) + 1} of the shipped model: {network.config.epochs} epochs of "
            f"{architecture(network.config.arch).title}. It trained in {network.seconds / 60:.0f} minutes on "
            f"{gpu}; the same run takes {cpu}. On a GPU machine, train it from the command line "
            "(docs/training-on-a-gpu.md in the repository says how):", icon=":material/timer:")
    st.code(f"KERAS_BACKEND=jax {network.train_command}", language="bash", wrap_lines=True)
    st.caption(f"With all {count} networks trained, each gets a fixed input blur and the {count} are averaged "
               "into one model, as the shipped one was:")
    st.code("\n".join([*(n.blur_command for n in networks), shipped().ensemble_command]), language="bash",
            wrap_lines=True)


def training_form(path) -> None:
    """The settings form; on Start, the job is started on the dataset at ``path``."""
    offered = offered_architectures()
    with st.form("train"):
        left, right = st.columns(2)
        arch = left.selectbox("Network", [a.name for a in offered], key="train_arch",
                              format_func=lambda name: architecture(name).title,
                              help="\n\n".join(f"**{a.title}** (`{a.name}`): {a.description}" for a in offered))
        epochs = left.number_input("Epochs (passes over the training faces)", 1, 500, key="train_epochs",
                                   help="More epochs learn more and take longer; the best epoch is the one kept.")
        max_samples = left.number_input("Train on at most this many faces (0: all)", 0, 100_000, step=1000,
                                        key="train_max_samples", help="A few thousand faces give a quick first run.")
        name = right.text_input("Save as", key="train_name",
                                help="Letters, digits, - and _. The model is saved in models/ under this name.")
        replace = right.checkbox("Replace a model with this name (including the shipped one)", key="train_replace")
        owner = right.text_input("Your name (optional)", "", key="train_owner", placeholder="shown to other tabs")
        with st.expander("Advanced settings"):
            first, second = st.columns(2)
            batch_size = first.select_slider("Batch size", [16, 32, 64, 128, 256], key="train_batch_size")
            learning_rate = first.number_input("Learning rate", 1e-5, 1.0, format="%.4f", key="train_learning_rate")
            augment = first.toggle("Augmentation (flips, shifts, rotation, zoom)", key="train_augment")
            class_weighting = first.selectbox("Class weights", ["none", "sqrt", "balanced"], key="train_weights",
                                              help="Weigh rare expressions (disgust) up in the loss.")
            label_smoothing = first.slider("Label smoothing", 0.0, 0.3, step=0.05, key="train_smoothing")
            seed = first.number_input("Random seed", 0, 2**31 - 1, key="train_seed",
                                      help="The same seed and settings train the same network again.")
            weight_decay = second.number_input("Weight decay (AdamW)", 0.0, 0.5, format="%.4f",
                                               key="train_weight_decay",
                                               help="Keeps the weights small, against memorising the training faces.")
            erasing = second.slider("Random erasing (probability a face loses a patch)", 0.0, 0.5, step=0.05,
                                    key="train_erasing")
            mixing = second.selectbox("Mix pairs of faces and their labels", list(MIXING), key="train_mixing",
                                      help="MixUp blends two faces; CutMix pastes a patch of one into the "
                                           "other. The labels mix in the same proportion.")
            single = second.toggle("One affine transform per face (sharper training faces)", key="train_single",
                                   help="Rotation, shift and zoom in one resampling instead of three; "
                                        "the shipped model was trained this way.")
            ema = second.toggle("Keep a moving average of the weights (EMA)", key="train_ema",
                                help=f"Polyak averaging, momentum {EMA_MOMENTUM} a step: validation scores the "
                                     "averaged weights and the last step's, and the model keeps whichever "
                                     "scored higher.")
            mixed_precision = second.toggle("bfloat16 compute", key="train_bf16",
                                            help="About twice as fast on GPUs and on CPUs with AMX, slower on "
                                                 "other CPUs.")
        submitted = st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:")
    if not submitted:
        return
    form = TrainForm(arch=arch, epochs=epochs, max_train_samples=max_samples, name=name, batch_size=batch_size,
                     learning_rate=learning_rate, augment=augment, class_weighting=class_weighting,
                     label_smoothing=label_smoothing, weight_decay=weight_decay, erasing=erasing, mixing=mixing,
                     single_resampling=single, ema=ema, mixed_precision=mixed_precision, seed=int(seed))
    try:
        form.check_name()
        manager.start(owner.strip() or "someone", form.to_config(), path, models_dir() / f"{form.name}.keras",
                      runs_dir() / form.name, overwrite=replace)
    except FerError as error:
        st.error(str(error))
        return
    st.rerun()  # the page now shows the running job


if job is not None and job.running:
    st.info(f"{job.owner} is training {job.out_path.name}. One training job runs at a time; its progress is below.")
else:
    data_path = dataset_picker("train")
    if data_path is None:
        st.markdown(NO_DATA_HELP)
    else:
        settings_picker()
        training_form(data_path)
        unfinished_runs_panel(data_path)

job_panel()
