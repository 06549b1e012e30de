"""``python -m fer_core``: train, evaluate, predict and inspect from the command line.

Bad input of any kind ends with exit code 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import fields, replace
from pathlib import Path

from .errors import FerError
from .limits import DEFAULT_LIMITS
from .precision import WEIGHTS_DTYPES
from .quiet import import_keras

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default.keras"


class ProgressBar:
    """A one-line text progress bar for training, written to a stream (stderr)."""

    def __init__(self, stream=None, width: int = 28):
        self.stream = stream or sys.stderr  # looked up now, not at import: tests and callers may redirect it
        self.width = width
        self._last_draw = 0.0

    def __call__(self, progress) -> None:
        now = time.monotonic()
        if progress.stage == "batch_end" and now - self._last_draw < 0.2 and progress.batch != progress.batches:
            return
        self._last_draw = now
        if progress.stage == "epoch_end":
            m = progress.metrics
            raw = f"  (raw weights {m['val_accuracy_raw']:.4f})" if "val_accuracy_raw" in m else ""  # an EMA run
            self.stream.write(f"\repoch {progress.epoch}/{progress.epochs}  loss {m.get('loss', 0):.4f}  "
                              f"acc {m.get('accuracy', 0):.4f}  val_loss {m.get('val_loss', 0):.4f}  "
                              f"val_acc {m.get('val_accuracy', 0):.4f}{raw}  "
                              f"({progress.history.get('epoch_seconds', [0])[-1]:.0f}s)" + " " * 10 + "\n")
        elif progress.stage == "batch_end":
            filled = int(self.width * progress.batch / max(progress.batches, 1))
            eta = f"ETA {_clock(progress.eta_s)}" if progress.eta_s is not None else ""
            self.stream.write(f"\repoch {progress.epoch}/{progress.epochs} [{'#' * filled}{'.' * (self.width - filled)}] "
                              f"{progress.batch}/{progress.batches}  loss {progress.metrics.get('loss', 0):.4f}  {eta}   ")
        elif progress.stage == "train_end" and progress.message:
            self.stream.write(f"saved {progress.message}\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _add_train_parser(commands) -> None:
    from .train_config import TrainConfig

    parser = commands.add_parser("train", help="train a model on FER2013 and save it with its model card")
    parser.add_argument("--data", required=True, help="FER2013 CSV (.csv, .csv.gz or .csv.xz) or image folder")
    parser.add_argument("--out", required=True, help="where to write the model (.keras); the card goes beside it")
    parser.add_argument("--run-dir", help="checkpoint folder (default: runs/<out name>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the interrupted run in the run folder with its recorded settings "
                             "(settings given on the command line, such as --epochs, override them)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing model at --out")
    parser.add_argument("--finalize", action="store_true",
                        help="train no further: write the best epoch of the run in --run-dir as the model")
    parser.add_argument("--skip-bad-rows", action="store_true", help="skip (and count) malformed dataset rows")
    for f in fields(TrainConfig):  # f.default, not TrainConfig(): validating it would import Keras
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        if f.name == "arch":
            flag = "--arch"
        # default None: a setting left out is the run's recorded one on --resume, else TrainConfig's default
        if isinstance(default, bool):
            parser.add_argument(flag, type=_parse_bool, default=None, metavar="yes|no",
                                help=f"(default: {'yes' if default else 'no'})")
        else:
            parser.add_argument(flag, type=type(default), default=None, help=f"(default: {default})")


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "yes", "true", "on"):
        return True
    if lowered in ("0", "no", "false", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, got {text!r}")


def _run_train(args) -> int:
    from .data import load_dataset
    from .runs import RunFolder, default_run_dir
    from .trainer import TrainConfig, check_can_start, train

    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}
    config = TrainConfig(**given)
    if args.resume or args.finalize:
        config = _recorded_config(args, config, given)
    out = Path(args.out)
    check_can_start(RunFolder(Path(args.run_dir) if args.run_dir else default_run_dir(out, config.arch)), out,
                    resume=args.resume or args.finalize, overwrite=args.overwrite)  # before minutes of loading
    import_keras()  # its start-up banners kept off stderr
    data = load_dataset(args.data, skip_bad_rows=args.skip_bad_rows)
    _report_skipped(data)
    stop = threading.Event()
    if args.finalize:
        stop.set()
    with stop_on_signals(stop):  # Ctrl-C or SIGTERM: stop after the current batch, keep the best epoch
        result = train(config, data, [ProgressBar()], out_path=args.out, run_dir=args.run_dir,
                       resume=args.resume or args.finalize, overwrite=args.overwrite, stop_event=stop)
    val = result.card["metrics"][result.card["validation_split"]]
    print(f"{result.model_path}: {result.card['validation_split']} accuracy {val['accuracy']:.4f}, "
          f"macro-F1 {val['macro_f1']:.4f}, trained {result.seconds:.0f}s")
    return 0


@contextmanager
def stop_on_signals(stop: threading.Event):
    """While the block runs, SIGINT and SIGTERM set ``stop`` instead of ending the process; the
    previous handlers are back afterwards (so a caller of ``main`` keeps its own). Outside the
    main thread, where Python allows no signal handler, nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    numbers = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.getsignal(number) for number in numbers}
    for number in numbers:
        signal.signal(number, lambda *_: (stop.set(), print("\nstopping after this batch...", file=sys.stderr)))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _recorded_config(args, config, given: dict):
    """The settings of the run being continued, with those given on the command line on top."""
    from .runs import default_run_dir, summarize_run
    from .train_config import TrainConfig

    run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(Path(args.out), config.arch)
    run = summarize_run(run_dir)
    if run is None:
        return config
    recorded = TrainConfig.from_dict(run.config)
    changed = {name: value for name, value in given.items() if getattr(recorded, name) != value}
    note = ", ".join(f"{name} {getattr(recorded, name)} -> {value}" for name, value in changed.items())
    print(f"continuing {run_dir} after epoch {run.epochs_done} with its recorded settings"
          + (f", except {note}" if note else ""), file=sys.stderr)
    return TrainConfig.from_dict({**run.config, **given})


def _warn(predictor) -> None:
    """Say on stderr why the predictor runs slower than it should (a damaged LiteRT file)."""
    if predictor.warning:
        print(f"warning: {predictor.warning}", file=sys.stderr)


def _report_skipped(data) -> None:
    if data.skipped:
        detail = ", ".join(f"{count} {why}" for why, count in data.skipped.items())
        print(f"{data.source}: skipped {sum(data.skipped.values())} bad rows ({detail})", file=sys.stderr)


def _run_evaluate(args) -> int:
    from .data import load_dataset
    from .predict import Predictor, PredictorConfig

    predictor = Predictor.load(args.model, PredictorConfig(engine=args.engine))
    _warn(predictor)
    data = load_dataset(args.data, skip_bad_rows=args.skip_bad_rows)
    _report_skipped(data)
    subset = data.subset(args.split)
    evaluation = predictor.evaluate(subset.images, subset.labels, split=args.split or "all", tta=args.tta)
    if args.json:
        print(json.dumps(evaluation.to_dict()))
        return 0
    print(f"{args.model} on {args.split or 'all rows'} ({evaluation.n} faces): accuracy {evaluation.accuracy:.4f}  "
          f"loss {evaluation.loss:.4f}  macro-F1 {evaluation.macro_f1:.4f}  ECE {evaluation.ece:.4f}")
    print(f"{'class':>9} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}")
    for name, row in evaluation.per_class.items():
        print(f"{name:>9} {row['precision']:9.3f} {row['recall']:7.3f} {row['f1']:6.3f} {row['support']:8d}")
    return 0


def _run_batch(args, predictor) -> int:
    """Label every photo of a folder or .zip: one CSV row per face, to --csv or to stdout."""
    import csv

    from .batch import CSV_COLUMNS, label_photos, photos_in, write_csv
    from .labels import EMOTIONS

    started = time.monotonic()
    on_photo = _batch_progress if sys.stderr.isatty() else None
    rows = label_photos(predictor, photos_in(args.image, predictor.config.limits), on_photo=on_photo)
    if not args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(row.to_record() for row in rows)
        return 0
    counts = write_csv(rows, args.csv)
    if on_photo:
        print(file=sys.stderr)
    faces = sum(n for label, n in counts.items() if label in EMOTIONS)
    summary = ", ".join(f"{label} {n}" for label, n in counts.most_common())
    print(f"wrote {args.csv}: {faces} faces ({summary}) in {time.monotonic() - started:.1f}s")
    return 0


def _batch_progress(done: int, name: str) -> None:
    print(f"\r{done} photos labelled ({name[-40:]})" + " " * 10, end="", file=sys.stderr, flush=True)


def _run_predict(args) -> int:
    from .faces import DetectorConfig
    from .predict import Predictor, PredictorConfig

    limits = replace(DEFAULT_LIMITS, max_batch_pixels=args.max_batch_pixels)
    predictor = Predictor.load(args.model, PredictorConfig(detector=DetectorConfig(kind=args.detector), limits=limits))
    _warn(predictor)
    target = Path(args.image)
    if target.is_dir() or (target.suffix.lower() == ".zip" and target.is_file()):
        return _run_batch(args, predictor)
    if args.csv:
        raise FerError(f"{args.image}: --csv is for a folder or a .zip of photos")
    faces = predictor.predict(args.image, whole_image_if_no_face=args.whole_image)
    if args.explain:
        _write_explanation(args, predictor, faces)
    if faces.capped:
        print(f"note: {args.image}: {faces.found} faces found; the {len(faces)} largest were classified "
              f"(the limit is {predictor.config.limits.max_faces} faces per photo)", file=sys.stderr)
    if args.json:
        print(json.dumps({"faces": [face.to_dict() for face in faces], "faces_found": faces.found}))
        return 0
    if not faces:
        print(f"{args.image}: no face found (try --whole-image)")
    for index, face in enumerate(faces, start=1):
        where = "whole image" if face.whole_image else f"box {face.box}"
        print(f"face {index} ({where}): {face.label} {face.confidence:.0%}")
    return 0


def _run_calibrate(args) -> int:
    from .calibrate_file import calibrate_model_file
    from .data import load_dataset

    data = load_dataset(args.data, skip_bad_rows=args.skip_bad_rows)
    _report_skipped(data)
    subset = data.subset(args.split)
    result = calibrate_model_file(args.model, subset.images, subset.labels, split=args.split, tta=not args.no_tta)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print(f"{args.model} on {args.split} ({result.n} faces{', flip TTA' if result.tta else ''}): temperature "
          f"{result.temperature:.3f}; ECE {result.ece_before:.4f} -> {result.ece_after:.4f}; NLL "
          f"{result.nll_before:.4f} -> {result.nll_after:.4f}; accuracy {result.accuracy_before:.4f} -> "
          f"{result.accuracy_after:.4f}; 'uncertain' below {result.uncertain_below:.0%}. Written to the card.")
    return 0


def _run_ensemble(args) -> int:
    from .data import load_dataset
    from .ensemble import EnsembleConfig, make_ensemble

    config = EnsembleConfig(members=tuple(args.models), train_split=args.train_split, val_split=args.val_split,
                            weights_dtype=args.weights_dtype)
    data = load_dataset(args.data, skip_bad_rows=args.skip_bad_rows)
    _report_skipped(data)
    card = make_ensemble(config, data, args.out, overwrite=args.overwrite)
    for member in card["members"]:
        accuracy = member["metrics"].get(config.val_split, {}).get("accuracy")
        print(f"  member {member['file']}: {config.val_split} accuracy {accuracy:.4f}")
    plain, tta = card["metrics"][config.val_split], card["metrics"][f"{config.val_split} (flip TTA)"]
    print(f"{args.out}: {config.val_split} accuracy {plain['accuracy']:.4f} ({tta['accuracy']:.4f} with flip TTA), "
          f"macro-F1 {plain['macro_f1']:.4f}; {card['parameters']:,} parameters, "
          f"{Path(args.out).stat().st_size / 1e6:.1f} MB ({config.weights_dtype} weights)")
    return 0


def _run_blur(args) -> int:
    from .data import load_dataset
    from .smoothing import BlurConfig, make_blurred_model

    config = BlurConfig(model=args.model, sigmas=_parse_sigmas(args.sigmas), train_split=args.train_split,
                        val_split=args.val_split)
    data = load_dataset(args.data, skip_bad_rows=args.skip_bad_rows)
    _report_skipped(data)
    card = make_blurred_model(config, data, args.out, overwrite=args.overwrite)
    blur = card["input_blur"]
    for trial in blur["trials"]:
        chosen = "  <- chosen" if trial["sigma"] == blur["sigma"] else ""
        print(f"  sigma {trial['sigma']:.2f}: log loss {trial['log_loss']:.4f}, accuracy {trial['accuracy']:.4f} "
              f"({trial['accuracy_tta']:.4f} with flip TTA){chosen}")
    plain, tta = card["metrics"][config.val_split], card["metrics"][f"{config.val_split} (flip TTA)"]
    print(f"{args.out}: {config.val_split} accuracy {plain['accuracy']:.4f} ({tta['accuracy']:.4f} with flip TTA), "
          f"macro-F1 {plain['macro_f1']:.4f}; blur sigma {blur['sigma']:g} px chosen by {blur['criterion']}")
    return 0


def _parse_sigmas(text: str) -> tuple[float, ...]:
    """``"0,0.5,0.7"`` -> (0.0, 0.5, 0.7), with a clear message for anything else."""
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise FerError(f"--sigmas {text!r}: expected comma-separated numbers of pixels, like 0,0.5,0.7") from None


def _run_export(args) -> int:
    from .engines import ExportConfig, export_litert, litert_path_for

    config = ExportConfig(quantize=args.quantize, split=args.split)
    data = None
    if args.data:
        from .data import load_dataset

        data = load_dataset(args.data, skip_bad_rows=args.skip_bad_rows)
        _report_skipped(data)
    record = export_litert(args.model, config, data)
    weights = "int8 weights" if args.quantize == "dynamic" else "float32 weights"
    print(f"wrote {litert_path_for(args.model)} ({record['bytes'] / 1e6:.1f} MB, {weights}); largest difference "
          f"from Keras {record['max_difference']:.1e}; the model card records it")
    if "accuracy" in record:
        accuracy = record["accuracy"]
        print(f"  {accuracy['split']} accuracy: Keras {accuracy['keras']:.4f} ({accuracy['keras (flip TTA)']:.4f} with "
              f"flip TTA), LiteRT {accuracy['litert']:.4f} ({accuracy['litert (flip TTA)']:.4f} with flip TTA)")
    return 0


def _write_explanation(args, predictor, faces) -> None:
    """The photo with each face's Grad-CAM heat map and label, as a PNG at --explain."""
    from PIL import Image

    from .explain import class_index, overlay_on_photo
    from .images import load_rgb
    from .render import annotate

    if not args.explain.lower().endswith(".png"):
        raise FerError(f"{args.explain}: --explain writes a .png file")
    if args.explain_class:
        try:
            class_index(args.explain_class)
        except ValueError as error:
            raise FerError(str(error)) from None
    rgb = load_rgb(args.image)
    heats = [(face.box, predictor.explain(face, args.explain_class)) for face in faces]
    try:
        Image.fromarray(annotate(overlay_on_photo(rgb, heats), faces)).save(args.explain)
    except OSError as error:
        raise FerError(f"{args.explain}: cannot write the heat map ({error.strerror or error})") from None
    print(f"wrote {args.explain}: Grad-CAM for {args.explain_class or 'the predicted class'} of {len(faces)} "
          f"face{'s' if len(faces) != 1 else ''}", file=sys.stderr)


def _run_info(args) -> int:
    from .info import describe

    print(json.dumps(describe(args.path), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m fer_core`` argument parser."""
    from .engines import ENGINES, QUANTIZATIONS
    from .smoothing import DEFAULT_SIGMAS

    parser = argparse.ArgumentParser(prog="python -m fer_core",
                                     description="Facial expression recognition on FER2013: train, evaluate, predict.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train_parser(commands)

    evaluate = commands.add_parser("evaluate", help="measure a model on a dataset (accuracy, F1, confusion matrix)")
    evaluate.add_argument("--model", default=str(DEFAULT_MODEL), help="a .keras model (default: the shipped one)")
    evaluate.add_argument("--data", required=True, help="FER2013 CSV (.csv, .csv.gz or .csv.xz) or image folder")
    evaluate.add_argument("--split", help="Training, PublicTest, ... (default: every row)")
    evaluate.add_argument("--tta", action="store_true", help="average with the mirrored face")
    evaluate.add_argument("--engine", choices=ENGINES, default="auto",
                          help="auto: the model's LiteRT export when there is an up-to-date one, as the app does "
                               "(default); keras: the .keras file itself")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--skip-bad-rows", action="store_true", help="skip (and count) malformed dataset rows")

    predict = commands.add_parser("predict", help="find the faces in a photo and classify their expressions")
    predict.add_argument("image", help="a photo (jpg, png, webp, bmp, ...), or a folder or .zip of photos")
    predict.add_argument("--csv", help="for a folder or .zip: write one row per face to this CSV file")
    predict.add_argument("--explain", metavar="OUT.png", help="also write the photo with Grad-CAM heat maps")
    predict.add_argument("--explain-class", metavar="CLASS", help="explain this class instead of the predicted one")
    predict.add_argument("--model", default=str(DEFAULT_MODEL), help="a .keras model (default: the shipped one)")
    predict.add_argument("--whole-image", action="store_true", help="classify the whole picture when no face is found")
    predict.add_argument("--max-batch-pixels", type=int, default=DEFAULT_LIMITS.max_batch_pixels, metavar="N",
                         help="for a folder or .zip: photos past this many pixels in all are not labelled "
                              f"(default {DEFAULT_LIMITS.max_batch_pixels:,})")
    predict.add_argument("--detector", choices=("yunet", "haar"), default="yunet",
                         help="the face detector: YuNet (default; finds turned and small faces) or OpenCV's Haar "
                              "cascade")
    predict.add_argument("--json", action="store_true", help='print {"faces": [...]} as JSON')

    calibrate = commands.add_parser("calibrate", help="fit the temperature (and the 'uncertain' threshold) of a model "
                                                      "and store them in its card")
    calibrate.add_argument("--model", default=str(DEFAULT_MODEL), help="a .keras model (default: the shipped one)")
    calibrate.add_argument("--data", required=True, help="FER2013 CSV (.csv, .csv.gz or .csv.xz) or image folder")
    calibrate.add_argument("--split", default="PublicTest", help="the faces to fit on (default: PublicTest)")
    calibrate.add_argument("--no-tta", action="store_true", help="fit without the flip TTA the app uses")
    calibrate.add_argument("--json", action="store_true", help="print one JSON object")
    calibrate.add_argument("--skip-bad-rows", action="store_true", help="skip (and count) malformed dataset rows")

    export = commands.add_parser("export", help="write the LiteRT (.tflite) twin of a model for fast, TensorFlow-free "
                                                "prediction")
    export.add_argument("--model", default=str(DEFAULT_MODEL), help="a .keras model (default: the shipped one)")
    export.add_argument("--quantize", choices=QUANTIZATIONS, default="none",
                        help="none: float32 weights, Keras's own numbers (default); dynamic: int8 weights, 4x smaller "
                             "and about 3x faster, refused if it loses over half a point of accuracy on --split")
    export.add_argument("--data", help="FER2013 CSV (.csv, .csv.gz or .csv.xz) or image folder; needed with --quantize")
    export.add_argument("--split", default="PublicTest", help="the faces an int8 export is measured on (default: PublicTest)")
    export.add_argument("--skip-bad-rows", action="store_true", help="skip (and count) malformed dataset rows")

    ensemble = commands.add_parser("ensemble", help="average several trained models into one model with its card")
    ensemble.add_argument("models", nargs="+", metavar="MODEL", help="member .keras models, each with its card")
    ensemble.add_argument("--data", required=True, help="the FER2013 CSV the members were trained on")
    ensemble.add_argument("--out", required=True, help="where to write the ensemble (.keras); the card goes beside it")
    ensemble.add_argument("--overwrite", action="store_true", help="replace an existing model at --out")
    ensemble.add_argument("--train-split", default="Training", help="the members' training split (default: Training)")
    ensemble.add_argument("--val-split", default="PublicTest",
                          help="the split the members were chosen on, where the ensemble is measured (default: PublicTest)")
    ensemble.add_argument("--weights-dtype", choices=WEIGHTS_DTYPES, default="float32",
                          help="store the weights as float16 to halve the file; it still computes in float32 "
                               "(default: float32)")
    ensemble.add_argument("--skip-bad-rows", action="store_true", help="skip (and count) malformed dataset rows")

    blur = commands.add_parser("blur", help="put a fixed Gaussian blur in front of a network, its width chosen on the "
                                            "validation split (matches the blur of training augmentation)")
    blur.add_argument("--model", required=True, help="the network (.keras, with its card)")
    blur.add_argument("--data", required=True, help="the FER2013 CSV the network was trained on")
    blur.add_argument("--out", required=True, help="where to write the blurred model (.keras); the card goes beside it")
    blur.add_argument("--sigmas", default=",".join(f"{sigma:g}" for sigma in DEFAULT_SIGMAS),
                      help="blur widths to try, in pixels; one value to use it as is (default: %(default)s)")
    blur.add_argument("--overwrite", action="store_true", help="replace an existing model at --out")
    blur.add_argument("--train-split", default="Training", help="the network's training split (default: Training)")
    blur.add_argument("--val-split", default="PublicTest", help="the split to choose on (default: PublicTest)")
    blur.add_argument("--skip-bad-rows", action="store_true", help="skip (and count) malformed dataset rows")

    info = commands.add_parser("info", help="what a dataset, model file or training run holds")
    info.add_argument("path", help="a dataset (CSV, .gz, folder), a .keras model, a run folder (runs/NAME) "
                                   "or runs/ (its unfinished runs)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.command in ("export", "ensemble", "blur"):
        import_keras()  # before anything else imports it, so its start-up banners stay off stderr
    runners = {"train": _run_train, "evaluate": _run_evaluate, "predict": _run_predict, "info": _run_info,
               "export": _run_export, "calibrate": _run_calibrate, "ensemble": _run_ensemble,
               "blur": _run_blur}
    try:
        return runners[args.command](args)
    except FerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; a training run can continue with --resume", file=sys.stderr)
        return 130
