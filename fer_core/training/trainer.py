"""Training: a ``TrainConfig`` in, a ``.keras`` model and its model card out.

A run keeps its state in a run folder: the model after every completed epoch (with the
optimizer state, so ``resume=True`` continues exactly where an interrupted run stopped),
the best model so far on the validation split, and ``state.json`` with the history. The
final model is written to ``out_path`` atomically, only after training succeeded, so a
failed or stopped run never replaces a good model.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fer_core.artifacts.keras_files import check_archive_sizes, check_output_path, save_model_with_card
from fer_core.data.dataset import Dataset
from fer_core.errors import ModelError, StoppedBeforeFirstEpoch, TrainingError
from fer_core.labels import NUM_CLASSES
from fer_core.metrics.card_scores import CardOptions
from fer_core.training.card import build_card, lineage, reproduce_command
from fer_core.training.config import TrainConfig
from fer_core.training.devices import DeviceConfig, DevicePlan, ValidationRows, plan_devices, rows_that_split
from fer_core.training.inputs import (
    class_weights,
    split_train_val,
    training_input,
    training_targets,
)
from fer_core.training.optimizer import learning_rate_at
from fer_core.training.progress import Progress, ProgressCallback
from fer_core.training.runs import (
    HOW_TO_REPLACE,
    RunFolder,
    check_can_start,
    check_continuation,
    check_writable,
    default_run_dir,
    run_writes_to,
)
from fer_core.training.training_model import (
    build_training_model,
    network_of,
    start_from_weights,
)


@dataclass
class TrainResult:
    """What ``train`` returns: where the model went, its card, and how the run ended."""

    model_path: Path | None
    card: dict
    history: dict[str, list[float]]
    stopped_early: bool = False
    stopped_by_request: bool = False
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def train(
    config: TrainConfig,
    data: Dataset,
    callbacks: list[ProgressCallback] | tuple = (),
    *,
    out_path: str | os.PathLike | None = None,
    run_dir: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    stop_event: threading.Event | None = None,
    card_options: CardOptions = CardOptions(),
    devices: DeviceConfig = DeviceConfig(),
) -> TrainResult:
    """Train ``config.arch`` on ``data`` and save the best epoch (by validation accuracy) to ``out_path``.

    ``card_options`` says what is measured for the model card afterwards (scoring every training
    face and calibrating take longer than a short run's training); ``devices``, how many
    accelerators share each batch (``fer_core.training.devices``)."""
    out = Path(out_path) if out_path else None
    run = RunFolder(Path(run_dir) if run_dir else default_run_dir(out, config.arch))
    check_can_start(run, out, resume=resume, overwrite=overwrite)
    if out is not None:
        check_writable(out.parent)
    check_writable(run.run_dir)
    with run.claimed():
        return _train_in(run, config, data, list(callbacks), out=out, resume=resume, overwrite=overwrite,
                         stop_event=stop_event, card_options=card_options, devices=devices)


def _train_in(run: RunFolder, config: TrainConfig, data: Dataset, listeners: list[ProgressCallback], *,
              out: Path | None, resume: bool, overwrite: bool, stop_event: threading.Event | None,
              card_options: CardOptions, devices: DeviceConfig) -> TrainResult:
    """The training run itself, in a run folder this process holds: prepare, fit, finalize."""
    prepared = prepare(run, config, data, out=out, resume=resume, overwrite=overwrite, devices=devices)
    fitted = fit(prepared, listeners, stop_event)
    return finalize(prepared, fitted, listeners, card_options)


@dataclass
class PreparedRun:
    """Everything ``fit`` needs: the run folder, the rows and targets, and the run's record."""

    run: RunFolder
    config: TrainConfig
    data: Dataset
    out: Path | None
    train_data: Dataset
    val_data: Dataset
    val_name: str
    targets: np.ndarray
    state: dict  # the run's record (state.json), updated after every epoch
    continuing: bool
    devices: DevicePlan


@dataclass
class FittedRun:
    """What ``fit`` leaves: the best epoch's network and how the fit ended."""

    network: object  # the inference network, float32, with the best epoch's weights
    history: dict[str, list[float]]
    stopped_by_request: bool


def prepare(run: RunFolder, config: TrainConfig, data: Dataset, *, out: Path | None, resume: bool,
            overwrite: bool, devices: DeviceConfig = DeviceConfig()) -> PreparedRun:
    """Check the run can go on here, pick its rows, compute its targets and open its record."""
    plan = plan_devices(devices, config.batch_size)
    previous = run.load()
    continuing = bool(resume and previous)
    own_model = continuing and out is not None and run_writes_to(previous.get("out"), out)
    if out is not None:
        check_output_path(out, overwrite=overwrite or own_model, error=TrainingError, how_to_replace=HOW_TO_REPLACE)
    if continuing:
        check_continuation(previous, run.run_dir, config, data)
    elif previous:
        if out is None:
            raise TrainingError(f"{run.run_dir}: a previous run is there; pass resume=True to continue it")
        run.clear()

    train_data, val_data, val_name = split_train_val(data, config)
    if config.max_train_samples and len(train_data) > config.max_train_samples:
        pick = np.sort(np.random.default_rng(config.seed).choice(len(train_data), config.max_train_samples, replace=False))
        train_data = Dataset(train_data.images[pick], train_data.labels[pick], train_data.splits[pick],
                             train_data.source, train_data.fingerprint)
    kept = rows_that_split(len(train_data), config.batch_size, plan.count)
    if kept < len(train_data):  # the last rows, so that the last batch splits over the devices too
        train_data = Dataset(train_data.images[:kept], train_data.labels[:kept], train_data.splits[:kept],
                             train_data.source, train_data.fingerprint)
    targets = training_targets(train_data, config)

    if continuing:
        state = {**previous, "config": asdict(config)}
    else:
        state = {"config": asdict(config), "epochs_done": 0, "history": {}}
    state.setdefault("data", {"source": Path(data.source).name, "fingerprint": data.fingerprint})
    if out is not None:
        state["out"] = str(out.resolve())
    state["seconds_before"] = state.get("seconds", 0.0)
    return PreparedRun(run, config, data, out, train_data, val_data, val_name, targets, state, continuing, plan)


def fit(prepared: PreparedRun, listeners: list[ProgressCallback], stop_event: threading.Event | None) -> FittedRun:
    """Train from the first (or the last checkpointed) epoch, then load back the best epoch."""
    import keras

    run, config = prepared.run, prepared.config
    keras.utils.set_random_seed(config.seed)
    previous_policy = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if config.mixed_precision else "float32")
    try:
        with prepared.devices.scope():
            history, stopped_by_request = _fit_in_scope(prepared, listeners, stop_event)
        if not run.best_file.exists():
            if stopped_by_request:
                raise StoppedBeforeFirstEpoch("stopped before the first epoch finished, so there is no model "
                                              "to save; start again and let one epoch finish")
            raise TrainingError("training stopped before the first epoch finished; nothing was saved")
        best_training_model = keras.models.load_model(run.best_file, safe_mode=True)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
    return FittedRun(network_of(best_training_model, config.arch), history, stopped_by_request)


def _fit_in_scope(prepared: PreparedRun, listeners: list[ProgressCallback],
                  stop_event: threading.Event | None) -> tuple[dict[str, list[float]], bool]:
    """``fit`` itself, within the run's device scope: the history, and whether a stop was asked for."""
    import keras

    from fer_core.training.callbacks.checkpoint import RunCheckpoint
    from fer_core.training.callbacks.progress import KerasProgressBridge
    from fer_core.training.callbacks.raw_weights import PaddedValidationScores, RawWeightsScore

    run, config, state = prepared.run, prepared.config, prepared.state
    training_model = _training_model_for(prepared)
    state["_started"] = time.monotonic()
    initial_epoch = int(state["epochs_done"])
    history: dict[str, list[float]] = {k: list(v) for k, v in state.get("history", {}).items()}

    x_train = prepared.train_data.images.astype(np.float32)[..., None]
    validation = ValidationRows.padded(prepared.val_data.images.astype(np.float32)[..., None],
                                       keras.utils.to_categorical(prepared.val_data.labels, NUM_CLASSES),
                                       prepared.devices.count)
    batches = math.ceil(len(x_train) / config.batch_size)
    bridge = KerasProgressBridge(list(listeners), config.epochs, batches, history,
                                 should_stop=stop_event.is_set if stop_event else None)
    # with EMA, validation scores the averaged weights, then the raw ones; the best model is the higher
    averaging = [keras.callbacks.SwapEMAWeights()] if config.ema else []
    raw_score = [RawWeightsScore(validation, config.batch_size)] if config.ema else []
    padded = [PaddedValidationScores(validation)] if validation.padding else []
    keras_callbacks = [*padded, *averaging, *raw_score, bridge,
                       RunCheckpoint(run, state, bridge, "val_accuracy", *averaging)]
    if config.schedule == "plateau":
        keras_callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3))
    else:
        keras_callbacks.append(keras.callbacks.LearningRateScheduler(lambda epoch: learning_rate_at(config, epoch)))
    if config.early_stopping_patience:
        keras_callbacks.append(keras.callbacks.EarlyStopping(monitor="val_accuracy",
                                                             patience=config.early_stopping_patience))
    if initial_epoch < config.epochs and not (stop_event and stop_event.is_set()):
        try:
            training_model.fit(
                **training_input(x_train, prepared.targets, config, initial_epoch), epochs=config.epochs,
                initial_epoch=initial_epoch, validation_data=(validation.x, validation.y),
                validation_batch_size=config.batch_size,
                class_weight=class_weights(prepared.train_data.labels, config.class_weighting),
                callbacks=keras_callbacks, verbose=0,
            )
        except OSError as error:  # a checkpoint could not be written: disk full, folder gone or read-only
            saved = (run.load() or {}).get("epochs_done", 0)
            raise TrainingError(f"{run.run_dir}: cannot write the epoch checkpoint ({error.strerror or error}); "
                                f"{saved} finished epochs are kept there; free space and continue with "
                                "--resume") from None
    return history, bridge.stopped_by_request or bool(stop_event and stop_event.is_set())


def _training_model_for(prepared: PreparedRun):
    """The model to fit: the run's last checkpoint when continuing, else a new one (from
    ``config.init_from``'s weights when set)."""
    import keras

    import fer_core.nets.affine  # noqa: F401  (registers RandomAffine for a checkpoint that uses it)

    if prepared.continuing:
        checkpoint = prepared.run.run_dir / prepared.state["checkpoint"]
        check_archive_sizes(checkpoint)
        return keras.models.load_model(checkpoint, safe_mode=True)
    training_model = build_training_model(prepared.config)
    if prepared.config.init_from:
        start_from_weights(training_model, prepared.config)
    return training_model


def finalize(prepared: PreparedRun, fitted: FittedRun, listeners: list[ProgressCallback],
             card_options: CardOptions) -> TrainResult:
    """Measure the best epoch for its model card and write the model with its card to ``out``."""
    config, state, out, history = prepared.config, prepared.state, prepared.out, fitted.history
    seconds = state.get("seconds_before", 0.0) + (time.monotonic() - state["_started"])
    epochs_done = len(history.get("loss", []))
    for listener in listeners:
        listener(Progress("finishing", epochs_done, config.epochs, history=history, elapsed_s=seconds,
                          message="measuring the best epoch for its model card"))
    card = build_card(fitted.network, config, prepared.data, prepared.train_data, prepared.val_data,
                      prepared.val_name, history, seconds, best_epoch=state.get("best_epoch"),
                      stopped_by_request=fitted.stopped_by_request, epochs_done=epochs_done,
                      card_options=card_options)
    if config.ema:
        card["training"]["best_weights"] = state.get("best_weights", "averaged")  # or "raw"
    card["command"] = reproduce_command(config, prepared.data.source, out)
    if prepared.devices.parallel:
        card["training"]["devices"] = prepared.devices.describe()
    if config.init_from:
        card["initialised_from"] = lineage(config.init_from)
    if config.teacher:
        card["distilled_from"] = lineage(config.teacher)
    model_path = None
    if out is not None:
        try:
            save_model_with_card(fitted.network, card, out)
        except ModelError as error:
            raise TrainingError(f"{error}; the best epoch stays in {prepared.run.best_file}, so after freeing space "
                                f"the same command with --finalize writes it") from None
        model_path = out
    for listener in listeners:
        listener(Progress("train_end", epochs_done, config.epochs,
                          metrics={"best_val_accuracy": state.get("best_value", 0.0)},
                          history=history, elapsed_s=seconds, message=str(model_path or "")))
    return TrainResult(model_path, card, history,
                       stopped_early=epochs_done < config.epochs and not fitted.stopped_by_request,
                       stopped_by_request=fitted.stopped_by_request, seconds=seconds)
