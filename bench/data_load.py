"""Time loading FER2013: a cold parse (no cache) versus the cached second load.

    python bench/data_load.py ../shared/data/fer2013.csv.gz [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fer_core.data.loading import load_dataset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="fer2013.csv, .csv.gz or an image folder")
    parser.add_argument("--repeats", type=int, default=5, help="cached loads to time")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        data = load_dataset(args.path, cache_dir=cache)
        cold = time.perf_counter() - started
        cached = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            load_dataset(args.path, cache_dir=cache)
            cached.append(time.perf_counter() - started)
    result = {"rows": len(data), "cold_s": round(cold, 3), "cached_median_s": round(statistics.median(cached), 4),
              "speedup": round(cold / statistics.median(cached), 1)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{'rows':>8} {'cold (s)':>9} {'cached (s)':>11} {'speed-up':>9}")
        print(f"{result['rows']:>8,} {result['cold_s']:>9.2f} {result['cached_median_s']:>11.4f} {result['speedup']:>8.0f}x")


if __name__ == "__main__":
    main()
