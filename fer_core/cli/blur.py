"""``blur``: put a fixed Gaussian blur in front of a network, its width chosen on the validation split."""

from __future__ import annotations

from fer_core.cli.common import add_data_options, load_data
from fer_core.errors import FerError
from fer_core.recipes.blur import DEFAULT_SIGMAS

IMPORTS_KERAS = True


def add_parser(commands) -> None:
    parser = commands.add_parser("blur", help="put a fixed Gaussian blur in front of a network, its width chosen on "
                                              "the validation split (matches the blur of training augmentation)")
    parser.add_argument("--model", required=True, help="the network (.keras, with its card)")
    add_data_options(parser, help="the FER2013 CSV the network was trained on")
    parser.add_argument("--out", required=True, help="where to write the blurred model (.keras); the card goes beside it")
    parser.add_argument("--sigmas", default=",".join(f"{sigma:g}" for sigma in DEFAULT_SIGMAS),
                        help="blur widths to try, in pixels; one value to use it as is (default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing model at --out")
    parser.add_argument("--train-split", default="Training", help="the network's training split (default: Training)")
    parser.add_argument("--val-split", default="PublicTest", help="the split to choose on (default: PublicTest)")


def run(args) -> int:
    from fer_core.recipes.blur import BlurConfig, make_blurred_model

    config = BlurConfig(model=args.model, sigmas=parse_sigmas(args.sigmas), train_split=args.train_split,
                        val_split=args.val_split)
    card = make_blurred_model(config, load_data(args), args.out, overwrite=args.overwrite)
    blur = card["input_blur"]
    for trial in blur["trials"]:
        chosen = "  <- chosen" if trial["sigma"] == blur["sigma"] else ""
        print(f"  sigma {trial['sigma']:.2f}: log loss {trial['log_loss']:.4f}, accuracy {trial['accuracy']:.4f} "
              f"({trial['accuracy_tta']:.4f} with flip TTA){chosen}")
    plain, tta = card["metrics"][config.val_split], card["metrics"][f"{config.val_split} (flip TTA)"]
    print(f"{args.out}: {config.val_split} accuracy {plain['accuracy']:.4f} ({tta['accuracy']:.4f} with flip TTA), "
          f"macro-F1 {plain['macro_f1']:.4f}; blur sigma {blur['sigma']:g} px chosen by {blur['criterion']}")
    return 0


def parse_sigmas(text: str) -> tuple[float, ...]:
    """``"0,0.5,0.7"`` -> (0.0, 0.5, 0.7), with a clear message for anything else."""
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise FerError(f"--sigmas {text!r}: expected comma-separated numbers of pixels, like 0,0.5,0.7") from None
