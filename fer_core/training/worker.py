"""The training process of a background job: ``python -m fer_core.training.worker``.

Reads one JSON request line on stdin (the ``TrainConfig`` and where to read and write), trains,
and writes JSON lines on stdout: ``progress`` while it trains, then one of ``result``, ``stopped``
(a Stop before any epoch finished) or ``error``. A ``stop`` line on stdin stops it after the
current batch, keeping the best epoch. Anything else the libraries print goes to stderr, so the
protocol stays clean.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import asdict

from fer_core.errors import FerError, StoppedBeforeFirstEpoch, one_line
from fer_core.metrics.card_scores import CardOptions
from fer_core.training.config import TrainConfig
from fer_core.training.progress import Progress

PROGRESS_INTERVAL_S = 0.25  # how often batch progress is sent (epoch ends always are)


class Channel:
    """JSON lines to the server on the original stdout; ``print`` and libraries write to stderr."""

    def __init__(self):
        self._stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
        sys.stdout = sys.stderr
        self._lock = threading.Lock()
        self._last_batch = 0.0

    def send(self, kind: str, **payload) -> None:
        with self._lock:
            self._stream.write(json.dumps({"kind": kind, **payload}) + "\n")
            self._stream.flush()

    def progress(self, progress: Progress) -> None:
        now = time.monotonic()
        if progress.stage == "batch_end" and progress.batch != progress.batches \
                and now - self._last_batch < PROGRESS_INTERVAL_S:
            return
        self._last_batch = now
        self.send("progress", progress=asdict(progress))


def watch_for_stop(stop: threading.Event) -> None:
    """Set ``stop`` when the server writes "stop" (or closes stdin: the server is gone)."""
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    stop.set()


def limit_threads(threads: int) -> None:
    """Give training ``threads`` compute threads (the environment already tells the numeric
    libraries): TensorFlow's thread pools; under JAX or PyTorch, which size theirs by the cores a
    process may run on, that many cores where the system lets a process choose (Linux)."""
    from fer_core.quiet import import_keras

    keras = import_keras()
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # its thread pools have started already
            pass
    elif hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        if 0 < threads < len(cores):
            os.sched_setaffinity(0, cores[-threads:])


def main() -> int:
    channel = Channel()
    request = json.loads(sys.stdin.readline())
    stop = threading.Event()
    threading.Thread(target=watch_for_stop, args=(stop,), daemon=True).start()
    config = TrainConfig.from_dict(request["config"])
    try:
        limit_threads(int(os.environ.get("FER_TRAINING_THREADS", "1")))
        from fer_core.data.loading import load_dataset
        from fer_core.training.trainer import train

        channel.send("progress", progress=asdict(Progress("loading", 0, config.epochs, message="reading the dataset")))
        data = load_dataset(request["data_path"], skip_bad_rows=request["skip_bad_rows"])
        channel.send("progress", progress=asdict(Progress("loading", 0, config.epochs, message="building the model")))
        result = train(config, data, [channel.progress], out_path=request["out_path"], run_dir=request["run_dir"],
                       overwrite=request["overwrite"], resume=request["resume"], stop_event=stop,
                       card_options=CardOptions(**request["card_options"]))
        channel.send("result", model_path=str(result.model_path) if result.model_path else None, card=result.card,
                     stopped_by_request=result.stopped_by_request, seconds=result.seconds)
    except StoppedBeforeFirstEpoch as stopped:
        channel.send("stopped", message=str(stopped))
    except FerError as error:
        channel.send("error", message=str(error))
    except MemoryError:
        channel.send("error", message="training ran out of memory; train on fewer faces or with a smaller batch")
    except Exception as error:  # the job must report, never die silently
        channel.send("error", message=one_line(f"training failed: {type(error).__name__}: {error}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
