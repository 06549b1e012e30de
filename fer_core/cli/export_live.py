"""``export-live``: write the detector and expression network the Live page runs in the browser."""

from __future__ import annotations

from fer_core.cli.common import add_data_options, add_model_option, load_data
from fer_core.paths import LIVE_MODELS_DIR

IMPORTS_KERAS = True


def add_parser(commands) -> None:
    parser = commands.add_parser("export-live", help="write the ONNX detector and expression network the Live page "
                                                     "runs in the browser, measured on --split")
    add_model_option(parser)
    add_data_options(parser, help="the FER2013 CSV whose --split the export is measured on")
    parser.add_argument("--member", type=int, default=0,
                        help="which network of an ensemble to export, from 1; 0: the smallest, the fastest (default)")
    parser.add_argument("--split", default="PublicTest", help="the faces the export is measured on (default: PublicTest)")
    parser.add_argument("--out", default=str(LIVE_MODELS_DIR),
                        help="the folder the Live page loads its models from (default: the app's static/live/models)")


def run(args) -> int:
    from fer_core.recipes.live import LiveExportConfig, export_live

    manifest = export_live(args.model, args.out, load_data(args), LiveExportConfig(member=args.member, split=args.split))
    expression = manifest["expression"]
    accuracy = expression["accuracy"]
    print(f"wrote {args.out}: the detector ({manifest['detector']['file']}) and {expression['network']} "
          f"({expression['bytes'] / 1e6:.1f} MB, member {expression['member']}); largest difference from Keras "
          f"{expression['max_difference']:.1e}")
    print(f"  {accuracy['split']} accuracy: Keras {accuracy['keras']:.4f} ({accuracy['keras (flip TTA)']:.4f} with flip "
          f"TTA), ONNX {accuracy['onnx']:.4f} ({accuracy['onnx (flip TTA)']:.4f} with flip TTA)")
    return 0
