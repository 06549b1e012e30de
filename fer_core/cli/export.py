"""``export``: write the ONNX (.onnx) or LiteRT (.tflite) twin of a model for fast, TensorFlow-free prediction."""

from __future__ import annotations

from fer_core.cli.common import DATA_HELP, add_data_options, add_model_option, load_data
from fer_core.recipes.export import FORMATS, QUANTIZATIONS

IMPORTS_KERAS = True


def add_parser(commands) -> None:
    parser = commands.add_parser("export", help="write the LiteRT (.tflite) or ONNX (.onnx) twin of a model for fast, "
                                                "TensorFlow-free prediction")
    add_model_option(parser)
    parser.add_argument("--format", choices=FORMATS, default="litert",
                        help="litert: a .tflite file for LiteRT (default); onnx: a .onnx file for ONNX Runtime, "
                             "measured on --split and refused if it loses over half a point of accuracy. The app runs "
                             "the export with int8 activations if there is one, else int8 weights, else float32")
    parser.add_argument("--quantize", choices=QUANTIZATIONS, default="none",
                        help="none: float32 weights, Keras's own numbers (default); dynamic: int8 weights, 4x smaller "
                             "and faster; static (onnx only): int8 weights and activations, calibrated on 400 Training "
                             "faces, the fastest on CPUs without AVX-512. An int8 export is refused if it loses over "
                             "half a point of accuracy on --split")
    add_data_options(parser, required=False, help=DATA_HELP + "; needed with --quantize")
    parser.add_argument("--split", default="PublicTest",
                        help="the faces an int8 export is measured on (default: PublicTest); a static one is "
                             "calibrated on Training")


def run(args) -> int:
    from fer_core.artifacts.exports import export_path_for
    from fer_core.recipes.export import EXPORT_FORMATS, ExportConfig, export_model

    config = ExportConfig(quantize=args.quantize, split=args.split, format=args.format)
    data = load_data(args) if args.data else None
    record = export_model(args.model, config, data)
    kind = EXPORT_FORMATS[args.format]
    weights = {"none": "float32 weights", "dynamic": "int8 weights", "static": "int8 weights and activations"}
    print(f"wrote {export_path_for(args.model, kind.name)} ({record['bytes'] / 1e6:.1f} MB, {weights[args.quantize]}); "
          f"largest difference from Keras {record['max_difference']:.1e}; the model card records it")
    if "accuracy" in record:
        accuracy, name = record["accuracy"], kind.name
        print(f"  {accuracy['split']} accuracy: Keras {accuracy['keras']:.4f} ({accuracy['keras (flip TTA)']:.4f} with "
              f"flip TTA), {kind.title} {accuracy[name]:.4f} ({accuracy[f'{name} (flip TTA)']:.4f} with flip TTA)")
    return 0
