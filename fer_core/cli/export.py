"""``export``: write the LiteRT (.tflite) twin of a model for fast, TensorFlow-free prediction."""

from __future__ import annotations

from fer_core.cli.common import DATA_HELP, add_data_options, add_model_option, load_data
from fer_core.recipes.export import FORMATS, QUANTIZATIONS

IMPORTS_KERAS = True


def add_parser(commands) -> None:
    parser = commands.add_parser("export", help="write the LiteRT (.tflite) twin of a model for fast, TensorFlow-free "
                                                "prediction, or its ONNX (.onnx) twin")
    add_model_option(parser)
    parser.add_argument("--format", choices=FORMATS, default="litert",
                        help="litert: the .tflite file the app runs (default); onnx: a .onnx file for ONNX Runtime, "
                             "measured on --split and refused if it loses over half a point of accuracy")
    parser.add_argument("--quantize", choices=QUANTIZATIONS, default="none",
                        help="none: float32 weights, Keras's own numbers (default); dynamic: int8 weights, 4x smaller "
                             "and about 3x faster, refused if it loses over half a point of accuracy on --split")
    add_data_options(parser, required=False, help=DATA_HELP + "; needed with --quantize")
    parser.add_argument("--split", default="PublicTest", help="the faces an int8 export is measured on (default: PublicTest)")


def run(args) -> int:
    from fer_core.recipes.export import EXPORT_FORMATS, ExportConfig, export_model

    config = ExportConfig(quantize=args.quantize, split=args.split, format=args.format)
    data = load_data(args) if args.data else None
    record = export_model(args.model, config, data)
    kind = EXPORT_FORMATS[args.format]
    weights = "int8 weights" if args.quantize == "dynamic" else "float32 weights"
    print(f"wrote {kind.path_for(args.model)} ({record['bytes'] / 1e6:.1f} MB, {weights}); largest difference "
          f"from Keras {record['max_difference']:.1e}; the model card records it")
    if "accuracy" in record:
        accuracy, name = record["accuracy"], kind.name
        print(f"  {accuracy['split']} accuracy: Keras {accuracy['keras']:.4f} ({accuracy['keras (flip TTA)']:.4f} with "
              f"flip TTA), {kind.title} {accuracy[name]:.4f} ({accuracy[f'{name} (flip TTA)']:.4f} with flip TTA)")
    return 0
