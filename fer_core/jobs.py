"""Background training: one job per process, in a worker thread, observable from anywhere.

The app keeps one ``JobManager`` per server (``st.cache_resource``), so every browser
tab sees the same job: who started it, its latest progress, and its result or error.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import FerError, TrainingError
from .progress import Progress
from .train import TrainConfig, TrainResult, train


TRAINING_NICENESS = 10  # how far the training thread steps back for predictions (Linux nice, 0..19)


def yield_to_other_work(niceness: int = TRAINING_NICENESS) -> bool:
    """Lower the calling thread's CPU priority, so predictions in the same server stay responsive
    while it trains. The threads TensorFlow starts from this thread inherit it. False where the
    platform has no per-thread priority (it is then a no-op)."""
    if not hasattr(os, "setpriority"):
        return False
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        if current < niceness:  # only ever lower the priority, never raise it
            os.setpriority(os.PRIO_PROCESS, thread, niceness)
    except OSError:
        return False
    return True


@dataclass
class TrainingJob:
    """One training run in a worker thread."""

    owner: str
    config: TrainConfig
    out_path: Path
    started_at: float = field(default_factory=time.time)
    progress: Progress | None = None
    result: TrainResult | None = None
    error: str | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while the worker thread is alive."""
        return self.thread is not None and self.thread.is_alive()

    @property
    def status(self) -> str:
        """running, stopping, finished, stopped or failed."""
        if self.running:
            return "stopping" if self.stop_event.is_set() else "running"
        if self.error:
            return "failed"
        return "stopped" if self.result and self.result.stopped_by_request else "finished"

    def stop(self) -> None:
        """Ask the run to stop after the current batch; the best epoch is still saved."""
        self.stop_event.set()


class JobManager:
    """Starts at most one training job at a time and keeps the latest one for display."""

    def __init__(self):
        self._lock = threading.Lock()
        self.current: TrainingJob | None = None

    def start(self, owner: str, config: TrainConfig, data_loader: Callable[[], object], out_path: Path,
              run_dir: Path, *, overwrite: bool = False, resume: bool = False) -> TrainingJob:
        """Start training (or continue the run in ``run_dir``) in a worker thread.

        TrainingError if a job is already running, or if ``out_path`` exists and is neither to be
        replaced nor the model of the run being continued.
        """
        with self._lock:
            if self.current is not None and self.current.running:
                raise TrainingError(f"{self.current.owner} is already training {self.current.out_path.name}; "
                                    "one training job runs at a time")
            if out_path.exists() and not overwrite and not resume:  # train() checks a continued run's own file
                raise TrainingError(f"{out_path.name} exists; choose another name or tick 'replace'")
            job = TrainingJob(owner, config, out_path)

            def work() -> None:
                yield_to_other_work()
                try:
                    data = data_loader()
                    job.result = train(config, data, [lambda p: setattr(job, "progress", p)], out_path=out_path,
                                       run_dir=run_dir, overwrite=overwrite, resume=resume,
                                       stop_event=job.stop_event)
                except FerError as error:
                    job.error = str(error)
                except Exception as error:  # the thread must report, never die silently
                    job.error = f"training failed: {type(error).__name__}: {error}"

            job.thread = threading.Thread(target=work, name=f"train-{out_path.stem}", daemon=True)
            self.current = job
            job.thread.start()
            return job
