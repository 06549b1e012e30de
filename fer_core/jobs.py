"""Background training: one job at a time, in a child process, observable from anywhere.

The app keeps one ``JobManager`` per server (``st.cache_resource``), so every browser tab
sees the same job: who started it, its latest progress, and its result or error.

The job trains in a process of its own (``multiprocessing``'s spawn start), not a thread of
the server: it gets a fresh Keras (no layer names or global state left over from the pages
that ran before), a thread count of its own (by default one core fewer than the machine has,
so predictions keep a core), and a Stop that cannot be starved by the server's work. Progress
comes back over a queue, read by a thread of the server.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .card_scores import CardOptions
from .errors import FerError, StoppedBeforeFirstEpoch, TrainingError, one_line
from .progress import Progress
from .runs import summarize_run
from .train_config import TrainConfig

PROGRESS_INTERVAL_S = 0.25  # how often the child sends batch progress (epoch ends are always sent)
STOP_GRACE_S = 10.0  # after a Stop, how long a job may take before its process is ended


def available_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


@dataclass(frozen=True)
class JobSettings:
    """How the server runs training jobs."""

    threads: int = 0  # compute threads of the training process; 0: one fewer than the cores (at least 1)
    card_options: CardOptions = CardOptions()

    def training_threads(self) -> int:
        """The thread count the training process is given."""
        return self.threads if self.threads > 0 else max(1, available_cores() - 1)


@dataclass(frozen=True)
class JobResult:
    """What a finished job reports: the model it wrote, its card, and how it ended."""

    model_path: Path | None
    card: dict
    stopped_by_request: bool
    seconds: float


@dataclass
class TrainingJob:
    """One training run in a child process."""

    owner: str
    config: TrainConfig
    out_path: Path
    started_at: float = field(default_factory=time.time)
    progress: Progress | None = None
    result: JobResult | None = None
    error: str | None = None
    note: str | None = None  # how a run that was stopped ended, when it saved nothing
    stop_requested_at: float | None = None
    process: multiprocessing.process.BaseProcess | None = None
    reader: threading.Thread | None = None
    _stop_event: object = None  # the multiprocessing Event the child watches

    @property
    def running(self) -> bool:
        """True until the child has reported its end (or died) and the server has read it."""
        return self.reader is not None and self.reader.is_alive()

    @property
    def status(self) -> str:
        """running, stopping, finished, stopped or failed."""
        if self.running:
            return "stopping" if self.stop_requested_at is not None else "running"
        if self.error:
            return "failed"
        return "stopped" if self.note or (self.result and self.result.stopped_by_request) else "finished"

    def stop(self) -> None:
        """Ask the run to stop after the current batch; the best epoch is still saved."""
        if self.stop_requested_at is None:
            self.stop_requested_at = time.monotonic()
        if self._stop_event is not None:
            self._stop_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended; False if it is still running after ``timeout`` seconds."""
        if self.reader is not None:
            self.reader.join(timeout)
        return not self.running


class JobManager:
    """Starts at most one training job at a time and keeps the latest one for display."""

    def __init__(self, settings: JobSettings = JobSettings()):
        self.settings = settings
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context("spawn")
        self.current: TrainingJob | None = None

    def start(self, owner: str, config: TrainConfig, data_path: Path, out_path: Path, run_dir: Path, *,
              overwrite: bool = False, resume: bool = False, skip_bad_rows: bool = False) -> TrainingJob:
        """Start training (or continue the run in ``run_dir``) on the dataset at ``data_path``.

        TrainingError if a job is already running, or if ``out_path`` exists and is neither to be
        replaced nor the model of the run being continued.
        """
        with self._lock:
            if self.current is not None and self.current.running:
                raise TrainingError(f"{self.current.owner} is already training {self.current.out_path.name}; "
                                    "one training job runs at a time")
            if out_path.exists() and not overwrite and not resume:  # train() checks a continued run's own file
                raise TrainingError(f"{out_path.name} exists; choose another name or tick 'replace'")
            if not resume and not overwrite:
                previous = summarize_run(run_dir)
                if previous is not None and not previous.finished:
                    raise TrainingError(f"an unfinished run is called {run_dir.name} ({previous.describe()}); "
                                        "continue it under Unfinished runs, choose another name, or tick "
                                        "'replace' to start over")
            job = TrainingJob(owner, config, out_path)
            messages = self._context.Queue()
            job._stop_event = self._context.Event()
            job.process = self._context.Process(
                target=train_in_child, name=f"train-{out_path.stem}", daemon=True,
                args=(config, str(data_path), str(out_path), str(run_dir), overwrite, resume, skip_bad_rows,
                      self.settings.training_threads(), self.settings.card_options, job._stop_event, messages))
            job.process.start()
            job.reader = threading.Thread(target=_follow, args=(job, messages), name=f"follow-{out_path.stem}",
                                          daemon=True)
            self.current = job
            job.reader.start()
            return job


def _follow(job: TrainingJob, messages) -> None:
    """Read the child's messages into ``job`` until it reports its end or dies."""
    while True:
        try:
            kind, payload = messages.get(timeout=0.5)
        except queue.Empty:
            if job.stop_requested_at is not None and time.monotonic() - job.stop_requested_at > STOP_GRACE_S * 6:
                job.process.terminate()  # a Stop it ignored for a minute: end it; the run folder keeps its epochs
            if not job.process.is_alive():
                try:  # what it sent just before it ended
                    kind, payload = messages.get(timeout=0.5)
                except queue.Empty:
                    job.error = (f"training stopped unexpectedly (the training process exited with code "
                                 f"{job.process.exitcode}); finished epochs stay in the run folder")
                    return
            else:
                continue
        if kind == "progress":
            job.progress = payload
        elif kind == "result":
            job.result = payload
            job.process.join(timeout=30)
            return
        elif kind == "stopped":
            job.note = payload
            job.process.join(timeout=30)
            return
        elif kind == "error":
            job.error = payload
            job.process.join(timeout=30)
            return


def limit_threads(threads: int) -> None:
    """Give the numeric libraries of this process ``threads`` compute threads (before they start)."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        os.environ[name] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from .quiet import import_keras

    keras = import_keras()
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # TensorFlow already started its pools
            pass


def train_in_child(config: TrainConfig, data_path: str, out_path: str, run_dir: str, overwrite: bool, resume: bool,
                   skip_bad_rows: bool, threads: int, card_options: CardOptions, stop_event, messages) -> None:
    """The training process: load the data, train, and report progress, then the result or the error."""
    last_sent = [0.0]

    def report(progress: Progress) -> None:
        now = time.monotonic()
        if progress.stage == "batch_end" and now - last_sent[0] < PROGRESS_INTERVAL_S \
                and progress.batch != progress.batches:
            return
        last_sent[0] = now
        messages.put(("progress", progress))

    try:
        limit_threads(threads)
        from .data import load_dataset
        from .trainer import train

        messages.put(("progress", Progress("loading", 0, config.epochs, message="reading the dataset")))
        data = load_dataset(data_path, skip_bad_rows=skip_bad_rows)
        messages.put(("progress", Progress("loading", 0, config.epochs, message="building the model")))
        result = train(config, data, [report], out_path=out_path, run_dir=run_dir, overwrite=overwrite,
                       resume=resume, stop_event=stop_event, card_options=card_options)
        messages.put(("result", JobResult(result.model_path, result.card, result.stopped_by_request, result.seconds)))
    except StoppedBeforeFirstEpoch as stopped:
        messages.put(("stopped", str(stopped)))
    except FerError as error:
        messages.put(("error", str(error)))
    except MemoryError:
        messages.put(("error", "training ran out of memory; train on fewer faces or with a smaller batch"))
    except Exception as error:  # the job must report, never die silently
        messages.put(("error", one_line(f"training failed: {type(error).__name__}: {error}")))
