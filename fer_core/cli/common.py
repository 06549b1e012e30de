"""What the commands share: the model and dataset options, loading the data, and warnings."""

from __future__ import annotations

import argparse
import sys

from fer_core.data.dataset import Dataset
from fer_core.paths import DEFAULT_MODEL_PATH

DATA_HELP = "FER2013 CSV (.csv, .csv.gz or .csv.xz) or image folder"


def add_model_option(parser: argparse.ArgumentParser) -> None:
    """``--model``, the shipped model by default."""
    parser.add_argument("--model", default=str(DEFAULT_MODEL_PATH), help="a .keras model (default: the shipped one)")


def add_data_options(parser: argparse.ArgumentParser, *, required: bool = True, help: str = DATA_HELP) -> None:
    """``--data`` and ``--skip-bad-rows``."""
    parser.add_argument("--data", required=required, help=help)
    parser.add_argument("--skip-bad-rows", action="store_true", help="skip (and count) malformed dataset rows")


def load_data(args: argparse.Namespace) -> Dataset:
    """The dataset at ``--data``; with ``--skip-bad-rows``, what was skipped is said on stderr."""
    from fer_core.data.loading import load_dataset

    data = load_dataset(args.data, skip_bad_rows=args.skip_bad_rows)
    if data.skipped:
        detail = ", ".join(f"{count} {why}" for why, count in data.skipped.items())
        print(f"{data.source}: skipped {sum(data.skipped.values())} bad rows ({detail})", file=sys.stderr)
    return data


def warn_if_slow(predictor) -> None:
    """Say on stderr why the predictor runs slower than it should (a damaged exported file)."""
    if predictor.warning:
        print(f"warning: {predictor.warning}", file=sys.stderr)
