"""``train-roll``: train the network that says how far a face is turned, and export it for the app."""

from __future__ import annotations

from fer_core.cli.common import add_data_options, load_data
from fer_core.paths import ROLL_MODEL

IMPORTS_KERAS = True


def add_parser(commands) -> None:
    from fer_core.recipes.roll import RollTrainingConfig

    defaults = RollTrainingConfig()
    parser = commands.add_parser("train-roll", help="train the network that levels turned faces on FER2013's faces "
                                                    "turned by known angles; writes face_roll.keras/.onnx/.json")
    add_data_options(parser, help="the FER2013 CSV whose training faces are turned")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="default: %(default)s")
    parser.add_argument("--out", default=str(ROLL_MODEL.parent),
                        help="the folder for the three files (default: the shipped models/detector; an interrupted "
                             "run resumes there)")


def run(args) -> int:
    from fer_core.recipes.roll import ROLL_FILES, RollTrainingConfig, train_roll_net

    config = RollTrainingConfig(epochs=args.epochs, seed=args.seed)

    def report(epoch: int, row: dict) -> None:
        print(f"epoch {epoch}/{config.epochs}: loss {row['loss']:.4f}, {config.val_split} error median "
              f"{row['median_degrees']:.2f} deg, 90th percentile {row['p90_degrees']:.2f} deg", flush=True)

    card = train_roll_net(load_data(args), args.out, config, on_epoch=report)
    errors = card[next(key for key in card if key.startswith(config.val_split))]
    print(f"wrote {', '.join(ROLL_FILES)} in {args.out}: on {errors['faces']} turned {config.val_split} faces the "
          f"error is {errors['one look']['median_degrees']:.2f} deg median, "
          f"{errors['one look']['p90_degrees']:.2f} deg at the 90th percentile")
    return 0
