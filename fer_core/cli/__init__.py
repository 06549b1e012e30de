"""The command line: ``python -m fer_core COMMAND`` (or ``fer COMMAND``); one module per command."""

from fer_core.cli.entry import main

__all__ = ["main"]
