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
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .data import Dataset
from .errors import ModelError, StoppedBeforeFirstEpoch, TrainingError
from .labels import EMOTIONS, INPUT_SHAPE, NUM_CLASSES
from .progress import Progress, ProgressCallback
from .runs import RunFolder, default_run_dir, run_writes_to, summarize_run
from .card_scores import CardOptions
from .hardware import hardware_description
from .train_config import TrainConfig


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


def learning_rate_at(config: TrainConfig, epoch: int) -> float:
    """The learning rate for 0-based ``epoch``: linear warm-up, then cosine decay (or constant)."""
    if epoch < config.warmup_epochs:
        return config.learning_rate * (epoch + 1) / (config.warmup_epochs + 1)
    if config.schedule != "cosine":
        return config.learning_rate
    span = max(config.epochs - config.warmup_epochs, 1)
    progress = (epoch - config.warmup_epochs) / span
    return 0.5 * config.learning_rate * (1 + math.cos(math.pi * min(progress, 1.0)))


def class_weights(labels: np.ndarray, mode: str) -> dict[int, float] | None:
    """Per-class loss weights: None, balanced (n / (k * count)), or its square root."""
    if mode == "none":
        return None
    counts = np.bincount(labels, minlength=NUM_CLASSES).astype(np.float64)
    weights = np.where(counts > 0, len(labels) / (NUM_CLASSES * np.maximum(counts, 1)), 0.0)
    if mode == "sqrt":
        weights = np.sqrt(weights)
    return {i: float(w) for i, w in enumerate(weights)}


def split_train_val(data: Dataset, config: TrainConfig) -> tuple[Dataset, Dataset, str]:
    """The training rows and the validation rows; the name says where validation came from."""
    if config.train_split not in set(data.splits.tolist()):
        raise TrainingError(f"{data.source}: no rows in the training split {config.train_split!r}; "
                            f"the data has {', '.join(data.split_names)}")
    train = data.subset(config.train_split)
    if config.val_split in set(data.splits.tolist()) and config.val_split != config.train_split:
        return train, data.subset(config.val_split), config.val_split
    rng = np.random.default_rng(config.seed)
    held_out = np.zeros(len(train), dtype=bool)
    for label in np.unique(train.labels):
        rows = np.flatnonzero(train.labels == label)
        held_out[rng.choice(rows, size=max(1, len(rows) // 10), replace=False)] = True
    keep, hold = ~held_out, held_out
    make = lambda m, name: Dataset(train.images[m], train.labels[m], np.full(m.sum(), name),
                                   train.source, train.fingerprint)
    return make(keep, config.train_split), make(hold, "held-out 10%"), "held-out 10% of " + config.train_split


def augmentation_layers(config: TrainConfig, seed: int) -> list:
    """Keras preprocessing layers that augment during training only (identity at inference)."""
    from keras import layers

    if not config.augment:
        return []
    augment = []
    if config.flip:
        augment.append(layers.RandomFlip("horizontal", seed=seed, name="aug_flip"))
    if config.resampling == "single" and (config.rotation_degrees or config.shift or config.zoom):
        from .augment import RandomAffine

        augment.append(RandomAffine(config.rotation_degrees, config.shift, config.zoom, fill_mode="reflect", seed=seed,
                                    name="aug_affine"))
    elif config.resampling == "sequential":
        if config.rotation_degrees:
            augment.append(layers.RandomRotation(config.rotation_degrees / 360, fill_mode="reflect", seed=seed,
                                                 name="aug_rotate"))
        if config.shift:
            augment.append(layers.RandomTranslation(config.shift, config.shift, fill_mode="reflect", seed=seed,
                                                    name="aug_shift"))
        if config.zoom:
            augment.append(layers.RandomZoom(config.zoom, fill_mode="reflect", seed=seed, name="aug_zoom"))
    if config.erasing:
        augment.append(layers.RandomErasing(factor=config.erasing, scale=(0.02, 0.15), seed=seed,
                                            name="aug_erase"))
    return augment


def _make_optimizer(config: TrainConfig):
    import keras

    # with config.ema the optimizer also keeps the weights' moving average (Polyak averaging)
    averaging = {"use_ema": True, "ema_momentum": config.ema} if config.ema else {}
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay, **averaging)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(config.learning_rate, momentum=0.9, nesterov=True,
                                    weight_decay=config.weight_decay or None, **averaging)
    return keras.optimizers.Adam(config.learning_rate, **averaging)


def build_training_model(config: TrainConfig):
    """The architecture wrapped with augmentation layers, compiled."""
    import keras

    from .models import build_model

    core = build_model(config.arch)
    training_model = keras.Sequential([keras.Input(INPUT_SHAPE, name="face"), *augmentation_layers(config, config.seed), core],
                                      name=f"train_{config.arch}")
    training_model.compile(
        optimizer=_make_optimizer(config),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    return training_model


def _start_from_weights(training_model, config: TrainConfig) -> None:
    """Copy the weights of ``config.init_from`` (same architecture) into the model to train."""
    from .modelio import load_keras_model

    from .smoothing import network_weights

    start = network_weights(load_keras_model(config.init_from))  # a blurred model: its network's weights
    core = training_model.layers[-1]
    shapes = [tuple(w.shape) for w in core.get_weights()]
    if [tuple(w.shape) for w in start] != shapes:
        raise TrainingError(f"{config.init_from}: its weights do not fit {config.arch!r}; "
                            f"init_from needs a model of the same architecture")
    core.set_weights(start)


def training_targets(train_data: Dataset, config: TrainConfig) -> np.ndarray:
    """The targets to fit: one-hot labels, mixed with ``config.teacher``'s probabilities when one is set.

    The teacher sees each training face once, with its mirror (the flip TTA the app uses); the mix
    ``(1 - distill_weight) * one_hot + distill_weight * teacher`` is knowledge distillation with
    the teacher's soft labels fixed before training, so a small student can learn from a larger
    network or an ensemble at no cost per epoch.
    """
    one_hot = np.eye(NUM_CLASSES, dtype=np.float32)[train_data.labels]
    if not config.teacher:
        return one_hot
    from .evaluate import predict_probabilities
    from .modelio import load_keras_model

    try:
        teacher = load_keras_model(config.teacher)
    except ModelError as error:
        raise TrainingError(f"teacher: {error}") from None
    soft = predict_probabilities(teacher, train_data.images, tta=True).astype(np.float32)
    return (1 - config.distill_weight) * one_hot + config.distill_weight * soft


def reproduce_command(config: TrainConfig, data_path: str, out_path: str | os.PathLike | None) -> str:
    """The ``python -m fer_core train`` command line that trains this config again."""
    defaults = TrainConfig()
    parts = ["python -m fer_core train", f"--data {data_path}", f"--out {out_path or 'MODEL.keras'}"]
    for f in fields(TrainConfig):
        value = getattr(config, f.name)
        if f.name != "arch" and value == getattr(defaults, f.name):
            continue
        text = ("yes" if value else "no") if isinstance(value, bool) else str(value)
        parts.append(f"--{f.name.replace('_', '-')} {text}")
    return " ".join(parts)


def _core_of(training_model, arch: str):
    """The inference model inside a training model, rebuilt in float32 with the trained weights."""
    from .models import build_model

    inner = training_model.layers[-1]
    model = build_model(arch)
    model.set_weights(inner.get_weights())
    return model


def _checkpoint_callback(run: RunFolder, state: dict, bridge, monitor: str, averaging=None):
    """The callback that checkpoints each epoch (the raw weights, to resume from) and keeps the best
    model. With ``averaging`` (a ``SwapEMAWeights``), validation scored both the averaged weights
    (``monitor``) and the raw ones (``monitor``_raw); the best model holds whichever scored higher:
    the average leads mid-schedule and can trail at the end of a cosine schedule (models/README.md)."""
    import keras

    from .modelio import save_model_atomically

    class RunCheckpoint(keras.callbacks.Callback):
        """After each completed epoch: the epoch checkpoint, the best model, state.json."""

        def on_epoch_end(self, epoch, logs=None):
            if bridge.stopped_by_request:
                return  # a partial epoch is not a checkpoint to resume from
            logs = logs or {}
            scores = {"averaged" if averaging is not None else "raw": float(logs.get(monitor, float("nan")))}
            if averaging is not None and f"{monitor}_raw" in logs:
                scores["raw"] = float(logs[f"{monitor}_raw"])
            scored = [(value, weights) for weights, value in scores.items() if not math.isnan(value)]
            value, weights = max(scored, key=lambda pair: pair[0], default=(math.nan, ""))  # a tie keeps the average
            if not math.isnan(value) and value > state.get("best_value", -math.inf):
                swap = weights == "averaged"
                if swap:
                    averaging.on_test_begin()  # swaps the averaged weights in, as for validation
                try:
                    save_model_atomically(self.model, run.best_file)
                finally:
                    if swap:
                        averaging.on_test_end()  # and the raw ones back
                state.update(best_value=value, best_epoch=epoch + 1, best_weights=weights)
            state["epochs_done"] = epoch + 1
            state["history"] = bridge.history
            state["seconds"] = state.get("seconds_before", 0.0) + (time.monotonic() - state["_started"])
            state["checkpoint"] = run.save_epoch(self.model, {k: v for k, v in state.items() if not k.startswith("_")})

    return RunCheckpoint()


def _raw_weights_score(x_val: np.ndarray, y_val: np.ndarray):
    """With EMA on: also score the raw (last-step) weights each epoch, as ``val_accuracy_raw`` and
    ``val_loss_raw``: the history shows what the average bought, and the best model may be these."""
    import keras

    class RawWeightsScore(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is not None and "val_accuracy" in logs:  # after validation swapped the raw weights back
                scores = self.model.evaluate(x_val, y_val, batch_size=512, verbose=0, return_dict=True)
                logs.update(val_accuracy_raw=scores["accuracy"], val_loss_raw=scores["loss"])

    return RawWeightsScore()


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
) -> TrainResult:
    """Train ``config.arch`` on ``data`` and save the best epoch (by validation accuracy) to ``out_path``.

    ``card_options`` says what is measured for the model card afterwards (scoring every training
    face and calibrating take longer than a short run's training)."""
    out = Path(out_path) if out_path else None
    run = RunFolder(Path(run_dir) if run_dir else default_run_dir(out, config.arch))
    check_can_start(run, out, resume=resume, overwrite=overwrite)
    if out is not None:
        _check_writable(out.parent)
    _check_writable(run.run_dir)
    with run.claimed():
        return _train_in(run, config, data, list(callbacks), out=out, resume=resume, overwrite=overwrite,
                         stop_event=stop_event, card_options=card_options)


def check_can_start(run: RunFolder, out: Path | None, *, resume: bool, overwrite: bool) -> None:
    """Refuse, before any data is read or folder made, a run that would replace a model without
    ``overwrite`` or start afresh over another run's unfinished checkpoints."""
    if out is not None and out.suffix != ".keras":
        raise TrainingError(f"{out}: the output must be a .keras file")
    if resume or overwrite:
        return  # a continued run may replace its own model; _train_in checks that
    if out is not None and out.exists():
        raise TrainingError(f"{out}: a model with this name exists; choose another name or pass "
                            "overwrite=True (--overwrite) to replace it")
    previous = summarize_run(run.run_dir)
    if previous is not None and not previous.finished:
        raise TrainingError(f"{run.run_dir}: holds an unfinished run ({previous.describe()}); continue it with "
                            "--resume (Continue on the Train page), or pass --overwrite to start over and "
                            "delete its checkpoints")


def _train_in(run: RunFolder, config: TrainConfig, data: Dataset, callbacks: list[ProgressCallback], *,
              out: Path | None, resume: bool, overwrite: bool, stop_event: threading.Event | None,
              card_options: CardOptions) -> TrainResult:
    """The training run itself, in a run folder this process holds."""
    import keras

    from .keras_progress import KerasProgressBridge
    from .modelio import check_archive_sizes, save_model_with_card

    previous = run.load()
    continuing = bool(resume and previous)
    own_model = continuing and out is not None and run_writes_to(previous.get("out"), out)
    if out is not None and out.exists() and not overwrite and not own_model:
        raise TrainingError(f"{out}: a model with this name exists; choose another name or pass "
                            "overwrite=True (--overwrite) to replace it")
    if continuing:
        _check_continuation(previous, run.run_dir, config, data)
    elif previous:
        if out is None:
            raise TrainingError(f"{run.run_dir}: a previous run is there; pass resume=True to continue it")
        run.clear()
        previous = None

    train_data, val_data, val_name = split_train_val(data, config)
    if config.max_train_samples and len(train_data) > config.max_train_samples:
        pick = np.sort(np.random.default_rng(config.seed).choice(len(train_data), config.max_train_samples, replace=False))
        train_data = Dataset(train_data.images[pick], train_data.labels[pick], train_data.splits[pick],
                             train_data.source, train_data.fingerprint)

    y_train = training_targets(train_data, config)
    keras.utils.set_random_seed(config.seed)
    previous_policy = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if config.mixed_precision else "float32")
    try:
        if continuing:
            from . import augment  # noqa: F401  (registers RandomAffine for the checkpoint)

            check_archive_sizes(run.run_dir / previous["checkpoint"])
            training_model = keras.models.load_model(run.run_dir / previous["checkpoint"], safe_mode=True)
            state = {**previous, "config": asdict(config)}
        else:
            training_model = build_training_model(config)
            if config.init_from:
                _start_from_weights(training_model, config)
            state = {"config": asdict(config), "epochs_done": 0, "history": {}}
        state.setdefault("data", {"source": Path(data.source).name, "fingerprint": data.fingerprint})
        if out is not None:
            state["out"] = str(out.resolve())
        state["_started"] = time.monotonic()
        state["seconds_before"] = state.get("seconds", 0.0)
        initial_epoch = int(state["epochs_done"])
        history: dict[str, list[float]] = {k: list(v) for k, v in state.get("history", {}).items()}

        x_train = train_data.images.astype(np.float32)[..., None]
        x_val = val_data.images.astype(np.float32)[..., None]
        y_val = keras.utils.to_categorical(val_data.labels, NUM_CLASSES)
        batches = math.ceil(len(x_train) / config.batch_size)
        bridge = KerasProgressBridge(list(callbacks), config.epochs, batches, history,
                                     should_stop=stop_event.is_set if stop_event else None)
        # with EMA, validation scores the averaged weights, then the raw ones; the best model is the higher
        averaging = [keras.callbacks.SwapEMAWeights()] if config.ema else []
        raw_score = [_raw_weights_score(x_val, y_val)] if config.ema else []
        keras_callbacks = [*averaging, *raw_score, bridge,
                           _checkpoint_callback(run, state, bridge, "val_accuracy", *averaging)]
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
                    **_training_input(x_train, y_train, config, initial_epoch), epochs=config.epochs,
                    initial_epoch=initial_epoch, validation_data=(x_val, y_val),
                    class_weight=class_weights(train_data.labels, config.class_weighting),
                    callbacks=keras_callbacks, verbose=0,
                )
            except OSError as error:  # a checkpoint could not be written: disk full, folder gone or read-only
                saved = (run.load() or {}).get("epochs_done", 0)
                raise TrainingError(f"{run.run_dir}: cannot write the epoch checkpoint ({error.strerror or error}); "
                                    f"{saved} finished epochs are kept there; free space and continue with "
                                    "--resume") from None
        if not run.best_file.exists():
            if bridge.stopped_by_request or (stop_event and stop_event.is_set()):
                raise StoppedBeforeFirstEpoch("stopped before the first epoch finished, so there is no model "
                                              "to save; start again and let one epoch finish")
            raise TrainingError("training stopped before the first epoch finished; nothing was saved")
        best_training_model = keras.models.load_model(run.best_file, safe_mode=True)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)

    stopped_by_request = bridge.stopped_by_request or bool(stop_event and stop_event.is_set())
    model = _core_of(best_training_model, config.arch)
    seconds = state.get("seconds_before", 0.0) + (time.monotonic() - state["_started"])
    epochs_done = len(history.get("loss", []))
    for listener in callbacks:
        listener(Progress("finishing", epochs_done, config.epochs, history=history, elapsed_s=seconds,
                          message="measuring the best epoch for its model card"))
    card = build_card(model, config, data, train_data, val_data, val_name, history, seconds,
                      best_epoch=state.get("best_epoch"), stopped_by_request=stopped_by_request,
                      epochs_done=epochs_done, card_options=card_options)
    if config.ema:
        card["training"]["best_weights"] = state.get("best_weights", "averaged")  # or "raw"
    card["command"] = reproduce_command(config, data.source, out)
    if config.init_from:
        card["initialised_from"] = _lineage(config.init_from)
    if config.teacher:
        card["distilled_from"] = _lineage(config.teacher)
    model_path = None
    if out is not None:
        try:
            save_model_with_card(model, card, out)
        except ModelError as error:
            raise TrainingError(f"{error}; the best epoch stays in {run.best_file}, so after freeing space "
                                f"the same command with --finalize writes it") from None
        model_path = out
    for listener in callbacks:
        listener(Progress("train_end", epochs_done, config.epochs, metrics={"best_val_accuracy": state.get("best_value", 0.0)},
                          history=history, elapsed_s=seconds, message=str(model_path or "")))
    return TrainResult(model_path, card, history, stopped_early=epochs_done < config.epochs and not stopped_by_request,
                       stopped_by_request=stopped_by_request, seconds=seconds)


def _training_input(x_train: np.ndarray, y_train: np.ndarray, config: TrainConfig, initial_epoch: int) -> dict:
    """``fit``'s training-data arguments: the arrays, or batches mixed by MixUp / CutMix."""
    from .mixing import MixedBatches, MixingConfig

    mixing = MixingConfig(mixup=config.mixup, cutmix=config.cutmix)
    if not mixing.enabled:
        return {"x": x_train, "y": y_train, "batch_size": config.batch_size, "shuffle": True}
    # a resumed run draws new pairs rather than repeating the first epochs' ones
    batches = MixedBatches(x_train, y_train, config.batch_size, mixing, seed=config.seed + 7919 * initial_epoch)
    return {"x": batches, "shuffle": False}


def _check_continuation(state: dict, run_dir: Path, config: TrainConfig, data: Dataset) -> None:
    """A run continues with its own architecture and on its own data, or not at all."""
    recorded_arch = state["config"].get("arch")
    if recorded_arch != config.arch:
        raise TrainingError(f"{run_dir}: the run to resume trained {recorded_arch!r}, not {config.arch!r}")
    recorded_data = state.get("data") or {}
    if recorded_data.get("fingerprint") and recorded_data["fingerprint"] != data.fingerprint:
        raise TrainingError(f"{run_dir}: the run trained on {recorded_data.get('source', 'other data')} "
                            f"({recorded_data['fingerprint']}), but {Path(data.source).name} is different data "
                            f"({data.fingerprint}); continue it on the same data or start a new run")


def build_card(model, config: TrainConfig, data: Dataset, train_data: Dataset, val_data: Dataset, val_name: str,
               history: dict, seconds: float, *, best_epoch: int | None, stopped_by_request: bool,
               epochs_done: int, card_options: CardOptions = CardOptions()) -> dict:
    """The model card: what was trained, on what, how, how long, and how well."""
    import keras

    from .card_scores import card_scores

    scores = card_scores(model, train_data, val_data, train_name=config.train_split, val_name=val_name,
                         options=card_options)
    return {
        "name": config.arch,
        "architecture": config.arch,
        "classes": list(EMOTIONS),
        "input": "48x48x1 grayscale, pixel values 0..255 (scaled inside the model)",
        "parameters": int(model.count_params()),
        "config": asdict(config),
        "data": {"source": Path(data.source).name, "fingerprint": data.fingerprint,
                 "train_rows": len(train_data), "validation": val_name, "validation_rows": len(val_data)},
        "training": {
            "seconds": round(seconds, 1), "epochs_run": epochs_done, "best_epoch": best_epoch,
            "stopped_by_request": stopped_by_request,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "hardware": hardware_description(),
            "backend": keras.backend.backend(), "keras": keras.__version__,
        },
        "history": history,
        **scores,
        "validation_split": val_name,
    }


def _lineage(parent_path: str) -> dict:
    """What a parent model's card (the starting weights or the teacher) says about how it was made."""
    from .modelio import read_card

    parent = read_card(parent_path)
    keep = ("command", "training", "initialised_from", "distilled_from")
    return {"model": str(parent_path), **{k: parent[k] for k in keep if k in parent},
            "validation_accuracy": parent.get("metrics", {}).get(parent.get("validation_split", ""), {}).get("accuracy")}


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TrainingError(f"{folder}: cannot create the folder ({error.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise TrainingError(f"{folder}: the folder is not writable")
