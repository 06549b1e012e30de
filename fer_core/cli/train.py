"""``train``: train a model on FER2013 and save it with its model card."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path

from fer_core.cli.common import add_data_options, load_data
from fer_core.cli.progress_bar import ProgressBar
from fer_core.quiet import import_keras
from fer_core.training.config import TrainConfig
from fer_core.training.devices import DeviceConfig, plan_devices
from fer_core.training.runs import RunFolder, check_can_start, default_run_dir, summarize_run


def add_parser(commands) -> None:
    parser = commands.add_parser("train", help="train a model on FER2013 and save it with its model card")
    add_data_options(parser)
    parser.add_argument("--out", required=True, help="where to write the model (.keras); the card goes beside it")
    parser.add_argument("--run-dir", help="checkpoint folder (default: runs/<out name>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the interrupted run in the run folder with its recorded settings "
                             "(settings given on the command line, such as --epochs, override them)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing model at --out")
    parser.add_argument("--finalize", action="store_true",
                        help="train no further: write the best epoch of the run in --run-dir as the model")
    parser.add_argument("--devices", default="1", metavar="N|all",
                        help="accelerators that share each batch, data parallel (several need "
                             "KERAS_BACKEND=jax; --batch-size must be a multiple of N) (default: 1)")
    for f in fields(TrainConfig):  # f.default, not TrainConfig(): validating it would import Keras
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        # default None: a setting left out is the run's recorded one on --resume, else TrainConfig's default
        if isinstance(default, bool):
            parser.add_argument(flag, type=parse_bool, default=None, metavar="yes|no",
                                help=f"(default: {'yes' if default else 'no'})")
        else:
            parser.add_argument(flag, type=type(default), default=None, help=f"(default: {default})")


def parse_bool(text: str) -> bool:
    """``yes``/``no`` (or 1/0, true/false, on/off) as a bool."""
    lowered = text.lower()
    if lowered in ("1", "yes", "true", "on"):
        return True
    if lowered in ("0", "no", "false", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, got {text!r}")


def run(args) -> int:
    from fer_core.training.trainer import train

    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}
    config = TrainConfig(**given)
    devices = DeviceConfig.parse(args.devices)
    if args.resume or args.finalize:
        config = recorded_config(args, config, given)
    out = Path(args.out)
    check_can_start(RunFolder(Path(args.run_dir) if args.run_dir else default_run_dir(out, config.arch)), out,
                    resume=args.resume or args.finalize, overwrite=args.overwrite)  # before minutes of loading
    import_keras()  # its start-up banners kept off stderr
    plan_devices(devices, config.batch_size)  # a device count that cannot work fails before the data loads
    data = load_data(args)
    stop = threading.Event()
    if args.finalize:
        stop.set()
    with stop_on_signals(stop):  # Ctrl-C or SIGTERM: stop after the current batch, keep the best epoch
        result = train(config, data, [ProgressBar()], out_path=args.out, run_dir=args.run_dir,
                       resume=args.resume or args.finalize, overwrite=args.overwrite, stop_event=stop,
                       devices=devices)
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


def recorded_config(args, config: TrainConfig, given: dict) -> TrainConfig:
    """The settings of the run being continued, with those given on the command line on top."""
    run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(Path(args.out), config.arch)
    summary = summarize_run(run_dir)
    if summary is None:
        return config
    recorded = TrainConfig.from_dict(summary.config)
    changed = {name: value for name, value in given.items() if getattr(recorded, name) != value}
    note = ", ".join(f"{name} {getattr(recorded, name)} -> {value}" for name, value in changed.items())
    print(f"continuing {run_dir} after epoch {summary.epochs_done} with its recorded settings"
          + (f", except {note}" if note else ""), file=sys.stderr)
    return TrainConfig.from_dict({**summary.config, **given})
