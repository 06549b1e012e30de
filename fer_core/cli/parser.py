"""The ``python -m fer_core`` argument parser: one sub-command per module of this package."""

from __future__ import annotations

import argparse

from fer_core.cli import blur, calibrate, ensemble, evaluate, export, export_live, info, predict, train, train_face_check, train_roll

COMMANDS = {"train": train, "evaluate": evaluate, "predict": predict, "calibrate": calibrate, "export": export,
            "export-live": export_live, "ensemble": ensemble, "blur": blur, "train-roll": train_roll,
            "train-face-check": train_face_check, "info": info}


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command, in the order ``--help`` lists them."""
    parser = argparse.ArgumentParser(prog="python -m fer_core",
                                     description="Facial expression recognition on FER2013: train, evaluate, predict.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_parser(commands)
    return parser
