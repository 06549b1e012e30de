"""The benchmarks: `python -m bench.NAME --help` from the repository root."""
