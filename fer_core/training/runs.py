"""Run folders: where a training run keeps its checkpoints, and which runs can be continued.

A run folder holds the model after the last completed epoch (with the optimizer state),
``best.keras`` (the best epoch so far on the validation split) and ``state.json``: the
settings, the history, how many epochs are done, the model file the run writes and the
fingerprint of the data it trains on, so a continued run keeps to both.
While a process trains, ``training.lock`` names it, so a second trainer (the app and the command
line on the same folder) is refused instead of interleaving checkpoints.
"""

from __future__ import annotations

import json
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fer_core.artifacts.keras_files import check_output_path
from fer_core.data.dataset import Dataset
from fer_core.errors import TrainingError
from fer_core.training.config import TrainConfig


class RunFolder:
    """The run folder: per-epoch checkpoints, the best model, and state.json."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.state_file = run_dir / "state.json"
        self.best_file = run_dir / "best.keras"
        self.lock_file = run_dir / "training.lock"

    def trained_by(self) -> int | None:
        """The process training in this folder now (another one may not), or None."""
        try:
            holder = json.loads(self.lock_file.read_text())
            pid, host = int(holder["pid"]), holder["host"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if host != socket.gethostname():
            return None  # written before a restart on a new host (a container, a cloud app): stale
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None  # a stale lock, left by a process that was killed
        except PermissionError:
            pass
        return pid

    @contextmanager
    def claimed(self):
        """Hold the folder for this process while training: a second trainer is refused, not interleaved."""
        holder = self.trained_by()
        if holder is not None:
            raise TrainingError(f"{self.run_dir}: process {holder} is training this run now; wait for it to "
                                f"finish or stop it first (if it is not training, delete {self.lock_file})")
        try:
            self.lock_file.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                  "since": time.strftime("%Y-%m-%dT%H:%M:%S")}))
        except OSError as error:  # a full disk, a read-only or vanished folder
            self.lock_file.unlink(missing_ok=True)
            raise TrainingError(f"{self.run_dir}: cannot write to the run folder "
                                f"({error.strerror or error}); free space or choose another folder") from None
        try:
            yield self
        finally:
            self.lock_file.unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove the previous run's files (not the lock) to start a new run in the same folder."""
        import shutil

        for path in self.run_dir.iterdir():
            if path == self.lock_file:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()

    def load(self) -> dict | None:
        """The saved state, None when the folder holds no run; TrainingError when it is unreadable."""
        if not self.state_file.exists():
            return None
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            state = None
        if not isinstance(state, dict) or not isinstance(state.get("config"), dict):
            raise TrainingError(f"{self.state_file}: the run state is unreadable; delete the run folder "
                                "to start over")
        return state

    def save_epoch(self, training_model, state: dict) -> str:
        """Write this epoch's checkpoint, then point state.json at it, then drop the previous one."""
        from fer_core.artifacts.cards import write_json_atomically
        from fer_core.artifacts.keras_files import save_model_atomically

        checkpoint = self.run_dir / f"epoch_{state['epochs_done']:03d}.keras"
        save_model_atomically(training_model, checkpoint)
        previous = state.get("checkpoint")
        write_json_atomically({**state, "checkpoint": checkpoint.name}, self.state_file)
        if previous and previous != checkpoint.name:
            (self.run_dir / previous).unlink(missing_ok=True)
        return checkpoint.name


def run_writes_to(recorded_out: str | None, out: Path) -> bool:
    """Whether a run that recorded ``recorded_out`` writes ``out`` (a run that recorded none may write any)."""
    return recorded_out is None or Path(recorded_out) == Path(out).resolve()


def default_run_dir(out: Path | None, arch: str) -> Path:
    """``runs/<model name>`` (or ``runs/<arch>`` when the run writes no model)."""
    return Path("runs") / (out.stem if out else arch)


@dataclass(frozen=True)
class RunSummary:
    """What a run folder says about its run, enough to list it and continue it."""

    run_dir: Path
    config: dict
    epochs_done: int
    best_accuracy: float | None
    best_epoch: int | None
    out_path: Path | None
    data_fingerprint: str | None
    trained_by: int | None = None

    @property
    def name(self) -> str:
        return self.run_dir.name

    @property
    def epochs(self) -> int:
        return int(self.config.get("epochs", self.epochs_done))

    @property
    def finished(self) -> bool:
        return self.epochs_done >= self.epochs

    def writes_to(self, out: Path) -> bool:
        """Whether ``out`` is this run's own model file, which continuing it may replace."""
        return run_writes_to(str(self.out_path) if self.out_path else None, out)

    def describe(self) -> str:
        """One line: architecture, epochs done of planned, best validation accuracy."""
        best = (f", best {self.best_accuracy:.1%} validation accuracy at epoch {self.best_epoch}"
                if self.best_accuracy is not None else "")
        return f"{self.config.get('arch', '?')}, epoch {self.epochs_done} of {self.epochs}{best}"


def summarize_run(run_dir: Path) -> RunSummary | None:
    """The summary of the run in ``run_dir``; None when it holds no readable run with a checkpoint."""
    folder = RunFolder(Path(run_dir))
    try:
        state = folder.load()
    except TrainingError:
        return None
    if not state or not state.get("checkpoint") or not (Path(run_dir) / state["checkpoint"]).exists():
        return None
    best = state.get("best_value")
    return RunSummary(run_dir=Path(run_dir), config=state["config"], epochs_done=int(state.get("epochs_done", 0)),
                      best_accuracy=float(best) if best is not None else None, best_epoch=state.get("best_epoch"),
                      out_path=Path(state["out"]) if state.get("out") else None,
                      data_fingerprint=(state.get("data") or {}).get("fingerprint"), trained_by=folder.trained_by())


def unfinished_runs(runs_root: Path) -> list[RunSummary]:
    """Runs below ``runs_root`` (one folder each) that stopped before their last epoch, newest first."""
    root = Path(runs_root)
    if not root.is_dir():
        return []
    found = [summarize_run(folder) for folder in root.iterdir() if (folder / "state.json").is_file()]
    unfinished = [run for run in found if run is not None and not run.finished]
    return sorted(unfinished, key=lambda run: (run.run_dir / "state.json").stat().st_mtime, reverse=True)


HOW_TO_REPLACE = "pass overwrite=True (--overwrite) to replace it"


def check_can_start(run: RunFolder, out: Path | None, *, resume: bool, overwrite: bool) -> None:
    """Refuse, before any data is read or folder made, a run that would replace a model without
    ``overwrite`` or start afresh over another run's unfinished checkpoints."""
    if out is not None:  # a continued run may replace its own model; the trainer's prepare checks that
        check_output_path(out, overwrite=resume or overwrite, error=TrainingError, how_to_replace=HOW_TO_REPLACE)
    if resume or overwrite:
        return
    previous = summarize_run(run.run_dir)
    if previous is not None and not previous.finished:
        raise TrainingError(f"{run.run_dir}: holds an unfinished run ({previous.describe()}); continue it with "
                            "--resume (Continue on the Train page), or pass --overwrite to start over and "
                            "delete its checkpoints")


def check_continuation(state: dict, run_dir: Path, config: TrainConfig, data: Dataset) -> None:
    """A run continues with its own architecture and on its own data, or not at all."""
    recorded_arch = state["config"].get("arch")
    if recorded_arch != config.arch:
        raise TrainingError(f"{run_dir}: the run to resume trained {recorded_arch!r}, not {config.arch!r}")
    recorded_data = state.get("data") or {}
    if recorded_data.get("fingerprint") and recorded_data["fingerprint"] != data.fingerprint:
        raise TrainingError(f"{run_dir}: the run trained on {recorded_data.get('source', 'other data')} "
                            f"({recorded_data['fingerprint']}), but {Path(data.source).name} is different data "
                            f"({data.fingerprint}); continue it on the same data or start a new run")


def check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TrainingError(f"{folder}: cannot create the folder ({error.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise TrainingError(f"{folder}: the folder is not writable")
