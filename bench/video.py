"""How long a video takes to label, and whether memory grows with its length.

    python -m bench.video [--seconds 60] [--samples-per-second 5] [--json]

Writes its own 1280x720 clips at 30 frames per second (OpenCV's ``VideoWriter``, mp4v): the
astronaut's head drifting across a textured background, a second face for the middle third. Each
clip is labelled in a fresh process, the way ``python -m fer_core predict VIDEO --csv out.csv``
does it (the shipped model, YuNet), which reports its wall time, the faces it labelled and its
peak memory (VmHWM); a clip a sixth as long runs first, as the baseline for memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
FPS, SIZE = 30, (1280, 720)

_LABEL = """
import sys, time
from fer_core.inference.predictor import Predictor
from fer_core.inference.video import VideoConfig, label_video
predictor = Predictor.load()
started = time.monotonic()
faces = sum(1 for _ in label_video(predictor, sys.argv[1], VideoConfig(samples_per_second=float(sys.argv[2]))))
seconds = time.monotonic() - started
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(seconds, faces, peak / 1024)
"""


def write_clip(path: Path, seconds: float) -> None:
    """A 1280x720 clip of ``seconds`` at 30 fps with one or two moving faces."""
    from skimage import data

    head = cv2.resize(cv2.cvtColor(data.astronaut()[:300, 100:400], cv2.COLOR_RGB2BGR), (260, 260))
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(40, 200, (SIZE[1], SIZE[0], 3), dtype=np.uint8), (0, 0), 6)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    frames = int(seconds * FPS)
    for index in range(frames):
        frame = background.copy()
        x = int(100 + 500 * (index / max(frames - 1, 1)))
        frame[200:460, x:x + 260] = head
        if frames / 3 <= index < 2 * frames / 3:
            frame[120:380, 900:1160] = head[:, ::-1]
        writer.write(frame)
    writer.release()


def measure(path: Path, samples_per_second: float) -> dict:
    done = subprocess.run([sys.executable, "-c", _LABEL, str(path), str(samples_per_second)], capture_output=True,
                          text=True, check=True, cwd=REPO)
    seconds, faces, peak_mb = done.stdout.split()
    return {"seconds": float(seconds), "faces": int(faces), "peak_mb": float(peak_mb)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the long clip (default: 60)")
    parser.add_argument("--samples-per-second", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        result = {}
        for name, seconds in (("short", args.seconds / 6), ("long", args.seconds)):
            clip = Path(work) / f"{name}.mp4"
            started = time.monotonic()
            write_clip(clip, seconds)
            result[name] = {"video_seconds": seconds, "write_seconds": round(time.monotonic() - started, 1),
                            **measure(clip, args.samples_per_second)}
    if args.json:
        print(json.dumps(result))
        return
    for name, row in result.items():
        print(f"{row['video_seconds']:.0f} s of 1280x720 video at {args.samples_per_second:g} samples/s: "
              f"{row['seconds']:.1f} s to label {row['faces']} faces, peak memory {row['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
