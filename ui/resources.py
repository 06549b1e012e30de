"""Expensive objects, created once per server and shared by every session."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from fer_core import paths
from fer_core.artifacts import catalog
from fer_core.data.cache import default_cache_dir
from fer_core.data.dataset import Dataset
from fer_core.data.loading import (
    dataset_folders,
    find_datasets,
    is_inside,
    load_dataset,
)
from fer_core.errors import one_line
from fer_core.training.jobs import JobManager

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_PHOTO = REPO_ROOT / "assets" / "example_astronaut.jpg"  # NASA portrait of Eileen Collins, public domain


def models_dir() -> Path:
    """Where the app looks for models: ``$FER_MODELS_DIR`` or the shipped ``models/``."""
    return Path(os.environ.get("FER_MODELS_DIR") or paths.MODELS_DIR)


def runs_dir() -> Path:
    """Where the Train page keeps its run folders: ``$FER_RUNS_DIR`` or the repo's ``runs/``."""
    return Path(os.environ.get("FER_RUNS_DIR") or REPO_ROOT / "runs")


def available_models() -> list[catalog.ModelEntry]:
    """The models on offer, the shipped default first."""
    return catalog.list_models(models_dir())


def sidebar_model_picker(key: str) -> catalog.ModelEntry:
    """The model chooser in the sidebar (the shipped default first), with what the chosen one is;
    stops the page when there is none."""
    models = available_models()
    if not models:
        st.error("No model found in models/. Train one on the Train page or restore models/default.keras.")
        st.stop()
    entry = st.sidebar.selectbox("Model", models, format_func=lambda m: m.title, key=key,
                                 help="The percentage is the model's accuracy on test faces it was not trained on.")
    st.sidebar.caption(entry.details)
    return entry


@st.cache_resource(show_spinner="Loading the model...", max_entries=3)
def get_predictor(model_path: str, mtime: float):
    """A Predictor for ``model_path``; ``mtime`` makes a retrained file load afresh."""
    from fer_core.inference.predictor import Predictor, PredictorConfig
    from fer_core.limits import APP_LIMITS

    return Predictor.load(model_path, PredictorConfig(limits=APP_LIMITS))


def photo_upload_mb(predictor) -> int:
    """The largest photo upload the Predict page takes, in MB (the predictor's limit)."""
    return max(1, predictor.config.limits.max_upload_bytes // 1_000_000)


def predictor_for(path: Path):
    """The cached Predictor of a model file (the sidebar warns when it runs slower than it should)."""
    predictor = get_predictor(str(path), path.stat().st_mtime)
    if predictor.warning:
        st.sidebar.warning(predictor.warning, icon=":material/warning:")
    return predictor


@st.cache_data(show_spinner="Reading the dataset...", max_entries=2)
def get_dataset(path: str, mtime: float) -> Dataset:
    """A dataset loaded once per file version (the engine also caches parsed CSVs on disk)."""
    return load_dataset(path)


def dataset_for(path: Path) -> Dataset:
    """The cached dataset at ``path``."""
    return get_dataset(str(path), path.stat().st_mtime)


@st.cache_resource
def get_job_manager() -> JobManager:
    """The server's one training-job manager, shared by all tabs."""
    return JobManager()


def dataset_picker(key: str) -> Path | None:
    """A dataset chooser: found files, an upload, or a typed path. None when there is none."""
    found = find_datasets(REPO_ROOT)
    options = [str(p) for p in found] + ["Upload a file...", "Type a path..."]
    choice = st.selectbox("Dataset", options, key=f"{key}_dataset")
    if choice == "Upload a file...":
        upload = st.file_uploader("FER2013 CSV (.csv, .csv.gz or .csv.xz)", type=["csv", "gz", "xz"], key=f"{key}_upload")
        if upload is None:
            return None
        return saved_upload(upload)
    if choice == "Type a path...":
        typed = st.text_input("Path to fer2013.csv(.gz) or an image folder", key=f"{key}_path")
        if not typed:
            return None
        path = Path(typed).expanduser()
        if not typed_paths_anywhere() and not is_inside(path, dataset_folders(REPO_ROOT)):
            st.error("On a shared server, a typed path must lie in one of the dataset folders the operator set up "
                     "(data/ in the app's folder, or FER_DATA); choose *Upload a file...* instead.")
            return None
        if not path.exists():
            st.error(f"{one_line(typed, 120)}: no such file or folder")
            return None
        return path
    return Path(choice)


def typed_paths_anywhere() -> bool:
    """Whether a typed dataset path may point anywhere: ``FER_TYPED_PATHS=anywhere`` or ``datasets``
    decides; unset, only a visitor on this machine (localhost, by both address and URL) may."""
    setting = os.environ.get("FER_TYPED_PATHS", "").lower()
    if setting in ("anywhere", "datasets"):
        return setting == "anywhere"
    from urllib.parse import urlparse

    host = urlparse(st.context.url or "").hostname or ""
    return st.context.ip_address is None and host in ("localhost", "127.0.0.1", "::1", "")


def uploads_dir() -> Path:
    """Where uploaded datasets and videos are kept: ``uploads/`` in the dataset cache folder, outside the repository."""
    return default_cache_dir() / "uploads"


def saved_upload(upload) -> Path:
    """The uploaded file (a dataset or a video) in ``uploads_dir()``, named by its content's hash: two uploads
    with the same name never overwrite each other, and the same file is written once."""
    import hashlib

    known = st.session_state.setdefault("_saved_uploads", {})  # file_id -> path: hash each upload once
    if upload.file_id in known and Path(known[upload.file_id]).exists():
        return Path(known[upload.file_id])
    digest = hashlib.sha256(upload.getbuffer()).hexdigest()[:16]
    safe_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(upload.name).name)[-80:]
    target = uploads_dir() / digest / safe_name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(upload.getbuffer())
        partial.replace(target)
    known[upload.file_id] = str(target)
    return target


NO_DATA_HELP = """
**No FER2013 dataset found.** Get it from the Kaggle challenge
*Challenges in Representation Learning: Facial Expression Recognition* (`fer2013.csv`, or the
image-folder release with `train/<class>/*.jpg` and `test/<class>/*.jpg`), then either

* put it in `data/` in this repository, or
* set `FER_DATA=/path/to/fer2013.csv` before `streamlit run streamlit_app.py`, or
* choose *Upload a file...* or *Type a path...* above.
"""
