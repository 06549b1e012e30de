"""Background training: one job at a time, in a child process, observable from anywhere.

The app keeps one ``JobManager`` per server (``st.cache_resource``), so every browser tab
sees the same job: who started it, its latest progress, and its result or error.

The job trains in a process of its own (``python -m fer_core.training.worker``), not a thread
of the server: it gets a fresh Keras (no layer names or global state left over from the pages
that ran before), a thread count of its own (by default one core fewer than the machine has,
so predictions keep a core), and a Stop that the server's work cannot starve. The two talk in
JSON lines: the request and "stop" go down the child's stdin, progress and the outcome come
back on its stdout, read by a thread of the server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fer_core.errors import TrainingError, one_line
from fer_core.metrics.card_scores import CardOptions
from fer_core.paths import PACKAGE_DIR
from fer_core.training.config import TrainConfig
from fer_core.training.progress import Progress
from fer_core.training.runs import summarize_run

STOP_GRACE_S = 60.0  # after a Stop, how long a job may take before its process is ended


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
    process: subprocess.Popen | None = None
    reader: threading.Thread | None = None

    ended: bool = False  # the child has reported its end (or died); its process may still be exiting

    @property
    def running(self) -> bool:
        """True until the child has reported its end (or died)."""
        return not self.ended and self.reader is not None and self.reader.is_alive()

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
            threading.Timer(STOP_GRACE_S, self._end_if_still_running).start()
        try:
            self.process.stdin.write("stop\n")
            self.process.stdin.flush()
        except (AttributeError, OSError, ValueError):  # the process has already gone
            pass

    def _end_if_still_running(self) -> None:
        """A Stop ignored for a minute: end the process; the run folder keeps its finished epochs."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended and its process exited; False if it is still running after
        ``timeout`` seconds."""
        if self.reader is not None:
            self.reader.join(timeout)
        return not self.running and not (self.reader and self.reader.is_alive())


class JobManager:
    """Starts at most one training job at a time and keeps the latest one for display."""

    def __init__(self, settings: JobSettings = JobSettings()):
        self.settings = settings
        self._lock = threading.Lock()
        self.current: TrainingJob | None = None

    def start(self, owner: str, config: TrainConfig, data_path: Path, out_path: Path, run_dir: Path, *,
              overwrite: bool = False, resume: bool = False, skip_bad_rows: bool = False) -> TrainingJob:
        """Start training (or continue the run in ``run_dir``) on the dataset at ``data_path``.

        TrainingError if a job is already running, or if ``out_path`` exists and is neither to be
        replaced nor the model of the run being continued, or if ``run_dir`` holds an unfinished run
        that a fresh start would replace.
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
            request = {"config": asdict(config), "data_path": str(data_path), "out_path": str(out_path),
                       "run_dir": str(run_dir), "overwrite": overwrite, "resume": resume,
                       "skip_bad_rows": skip_bad_rows, "card_options": asdict(self.settings.card_options)}
            job.process = subprocess.Popen(
                [sys.executable, "-m", "fer_core.training.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True, bufsize=1, env=worker_environment(self.settings))
            job.process.stdin.write(json.dumps(request) + "\n")
            job.process.stdin.flush()
            job.reader = threading.Thread(target=_follow, args=(job,), name=f"follow-{out_path.stem}", daemon=True)
            self.current = job
            job.reader.start()
            return job


def worker_environment(settings: JobSettings) -> dict[str, str]:
    """The training process's environment: this one's, with its thread count set for every numeric
    library, and this package importable however the server was started."""
    threads = str(settings.training_threads())
    path = os.pathsep.join(p for p in (str(PACKAGE_DIR.parent), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads, "TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "1",
            "FER_TRAINING_THREADS": threads, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}


def _follow(job: TrainingJob) -> None:
    """Read the child's messages into ``job`` until it reports its end or dies, then let it exit."""
    for line in job.process.stdout:
        try:
            message = json.loads(line)
        except ValueError:
            continue  # not a protocol line
        kind = message.get("kind")
        if kind == "progress":
            job.progress = Progress(**message["progress"])
            continue
        if kind == "result":
            job.result = JobResult(Path(message["model_path"]) if message["model_path"] else None, message["card"],
                                   message["stopped_by_request"], message["seconds"])
        elif kind == "stopped":
            job.note = message["message"]
        else:
            job.error = one_line(message.get("message", "training failed"))
        break
    else:  # the output ended without an outcome: the process died
        job.process.wait(timeout=60)
        job.error = (f"training stopped unexpectedly (the training process exited with code "
                     f"{job.process.returncode}); finished epochs stay in the run folder")
    job.ended = True  # the page shows the outcome now; the process may take a moment to exit
    try:
        job.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        job.process.terminate()
