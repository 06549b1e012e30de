"""``ensemble``: average several trained models into one model with its card."""

from __future__ import annotations

from pathlib import Path

from fer_core.cli.common import add_data_options, load_data
from fer_core.nets.weights_dtype import WEIGHTS_DTYPES

IMPORTS_KERAS = True


def add_parser(commands) -> None:
    parser = commands.add_parser("ensemble", help="average several trained models into one model with its card")
    parser.add_argument("models", nargs="+", metavar="MODEL", help="member .keras models, each with its card")
    add_data_options(parser, help="the FER2013 CSV the members were trained on")
    parser.add_argument("--out", required=True, help="where to write the ensemble (.keras); the card goes beside it")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing model at --out")
    parser.add_argument("--train-split", default="Training", help="the members' training split (default: Training)")
    parser.add_argument("--val-split", default="PublicTest",
                        help="the split the members were chosen on, where the ensemble is measured (default: PublicTest)")
    parser.add_argument("--weights-dtype", choices=WEIGHTS_DTYPES, default="float32",
                        help="store the weights as float16 to halve the file; it still computes in float32 "
                             "(default: float32)")


def run(args) -> int:
    from fer_core.recipes.ensemble import EnsembleConfig, make_ensemble

    config = EnsembleConfig(members=tuple(args.models), train_split=args.train_split, val_split=args.val_split,
                            weights_dtype=args.weights_dtype)
    card = make_ensemble(config, load_data(args), args.out, overwrite=args.overwrite)
    for member in card["members"]:
        accuracy = member["metrics"].get(config.val_split, {}).get("accuracy")
        print(f"  member {member['file']}: {config.val_split} accuracy {accuracy:.4f}")
    plain, tta = card["metrics"][config.val_split], card["metrics"][f"{config.val_split} (flip TTA)"]
    print(f"{args.out}: {config.val_split} accuracy {plain['accuracy']:.4f} ({tta['accuracy']:.4f} with flip TTA), "
          f"macro-F1 {plain['macro_f1']:.4f}; {card['parameters']:,} parameters, "
          f"{Path(args.out).stat().st_size / 1e6:.1f} MB ({config.weights_dtype} weights)")
    return 0
