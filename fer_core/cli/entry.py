"""``python -m fer_core`` (or ``fer``): train, evaluate, predict and inspect from the command line.

Bad input of any kind ends with exit code 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import sys

from fer_core.cli.parser import COMMANDS, build_parser
from fer_core.errors import FerError
from fer_core.quiet import import_keras


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    command = COMMANDS[args.command]
    if getattr(command, "IMPORTS_KERAS", False):
        import_keras()  # before anything else imports it, so its start-up banners stay off stderr
    try:
        return command.run(args)
    except FerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; a training run can continue with --resume", file=sys.stderr)
        return 130
