"""docs/cli.md holds every command's --help as the command line prints it."""

from __future__ import annotations

import pytest
from conftest import REPO

from fer_core.cli.parser import COMMANDS, build_parser


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_the_reference_shows_each_commands_help_as_it_is(command, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "100")  # the width docs/cli.md was written at
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"] if command else ["--help"])
    # compared word for word: Python 3.13 aligns argparse's columns differently from 3.11 and 3.12
    shown = " ".join(capsys.readouterr().out.split())
    assert shown in " ".join((REPO / "docs" / "cli.md").read_text().split()), (
        f"docs/cli.md is out of date for {command or 'the top level'}; regenerate its Reference section")
