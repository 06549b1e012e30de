"""``train-face-check``: train the network that tells the faces among YuNet's weak candidates, and export it for the app."""

from __future__ import annotations

from fer_core.cli.common import add_data_options, load_data
from fer_core.paths import FACE_CHECK_MODEL

IMPORTS_KERAS = True


def add_parser(commands) -> None:
    from fer_core.recipes.face_check import FaceCheckTrainingConfig

    defaults = FaceCheckTrainingConfig()
    parser = commands.add_parser("train-face-check",
                                 help="train the face check on the candidates YuNet raises in photos made from "
                                      "FER2013's training faces; writes face_check.keras/.onnx/.json")
    add_data_options(parser, help="the FER2013 CSV whose training faces are pasted into photos")
    parser.add_argument("--scenes", type=int, default=defaults.scenes, help="default: %(default)s")
    parser.add_argument("--faces-alone", type=int, default=defaults.faces_alone, help="default: %(default)s")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="default: %(default)s")
    parser.add_argument("--negatives-from", nargs="+", default=list(defaults.negatives_from), metavar="PHOTOS",
                        help="photos without any face (files, or folders searched for photos) that "
                             f"{round(defaults.real_share * 100)}%% of the scenes are cut from, so the check learns what real "
                             "photos hold (default: none)")
    parser.add_argument("--out", default=str(FACE_CHECK_MODEL.parent),
                        help="the folder for the three files (default: the shipped models/detector; an interrupted "
                             "run resumes there)")


def run(args) -> int:
    from fer_core.recipes.face_check import FACE_CHECK_FILES, FaceCheckTrainingConfig, train_face_check

    config = FaceCheckTrainingConfig(scenes=args.scenes, faces_alone=args.faces_alone, epochs=args.epochs,
                                     seed=args.seed, negatives_from=tuple(args.negatives_from))
    card = train_face_check(load_data(args), args.out, config, on_progress=lambda line: print(line, flush=True))
    measured = card["held-out candidates"][f"{config.accept:g}"]
    print(f"wrote {', '.join(FACE_CHECK_FILES)} in {args.out}: at {config.accept:g} it accepts "
          f"{measured['faces_accepted']:.1%} of {measured['faces']} held-out face candidates and "
          f"{measured['others_accepted']:.3%} of {measured['others']} others")
    return 0
