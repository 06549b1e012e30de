"""``calibrate``: fit a model's temperature (and its 'uncertain' threshold) and store them in its card."""

from __future__ import annotations

import json

from fer_core.cli.common import add_data_options, add_model_option, load_data


def add_parser(commands) -> None:
    parser = commands.add_parser("calibrate", help="fit the temperature (and the 'uncertain' threshold) of a model "
                                                   "and store them in its card")
    add_model_option(parser)
    add_data_options(parser)
    parser.add_argument("--split", default="PublicTest", help="the faces to fit on (default: PublicTest)")
    parser.add_argument("--no-tta", action="store_true", help="fit without the flip TTA the app uses")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from fer_core.recipes.calibrate import calibrate_model_file

    subset = load_data(args).subset(args.split)
    result = calibrate_model_file(args.model, subset.images, subset.labels, split=args.split, tta=not args.no_tta)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print(f"{args.model} on {args.split} ({result.n} faces{', flip TTA' if result.tta else ''}): temperature "
          f"{result.temperature:.3f}; ECE {result.ece_before:.4f} -> {result.ece_after:.4f}; NLL "
          f"{result.nll_before:.4f} -> {result.nll_after:.4f}; accuracy {result.accuracy_before:.4f} -> "
          f"{result.accuracy_after:.4f}; 'uncertain' below {result.uncertain_below:.0%}. Written to the card.")
    return 0
