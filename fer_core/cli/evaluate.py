"""``evaluate``: measure a model on a dataset (accuracy, F1, confusion matrix)."""

from __future__ import annotations

import json

from fer_core.cli.common import add_data_options, add_model_option, load_data, warn_if_slow
from fer_core.inference.engines import ENGINES


def add_parser(commands) -> None:
    parser = commands.add_parser("evaluate", help="measure a model on a dataset (accuracy, F1, confusion matrix)")
    add_model_option(parser)
    add_data_options(parser)
    parser.add_argument("--split", help="Training, PublicTest, ... (default: every row)")
    parser.add_argument("--tta", action="store_true", help="average with the mirrored face")
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="auto: the model's fastest up-to-date export (int8 activations, then int8 weights), as "
                             "the app does (default); onnx, litert: that export; keras: the .keras file itself")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from fer_core.inference.predictor import Predictor, PredictorConfig

    predictor = Predictor.load(args.model, PredictorConfig(engine=args.engine))
    warn_if_slow(predictor)
    subset = load_data(args).subset(args.split)
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
