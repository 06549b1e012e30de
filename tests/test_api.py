"""The public API: every name in ``fer_core.__all__`` imports in a fresh interpreter, and the
README's Python snippets run as written."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO, csv_text, synthetic_faces

import fer_core


def fresh_python(code: str, cwd=None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``code`` in a new interpreter with the repository importable."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd or REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("name", fer_core.__all__)
def test_every_public_name_imports_in_a_fresh_interpreter(name):
    check = {"TrainConfig": "assert isinstance(value(), value)",
             "train": "import inspect; assert inspect.isfunction(value) and value.__name__ == 'train'",
             "load_dataset": "assert callable(value)",
             "Predictor": "assert hasattr(value, 'load')", "Face": "assert hasattr(value, 'to_dict')",
             "EMOTIONS": "assert len(value) == 7"}.get(name, "assert issubclass(value, Exception)")
    done = fresh_python(f"from fer_core import {name} as value\n{check}\n"
                        f"import fer_core\nassert getattr(fer_core, {name!r}) is value\nprint('ok')")
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_the_train_function_stays_the_function_after_the_trainer_module_is_imported():
    done = fresh_python("import fer_core.training.trainer, fer_core\nfrom fer_core import train\nimport inspect\n"
                        "assert inspect.isfunction(train) and fer_core.train is train\nprint('ok')")
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def readme_python_snippets() -> list[str]:
    """The ```python blocks of README.md, in order."""
    return re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)


@pytest.mark.slow  # a fresh interpreter trains a model; CI runs it
def test_the_readme_python_snippets_run_as_written(tmp_path, astronaut_jpeg):
    snippets = readme_python_snippets()
    assert len(snippets) >= 2 and any("train(" in s for s in snippets) and any("predict(" in s for s in snippets)
    images, labels = synthetic_faces(n_per_class=6)
    with gzip.open(tmp_path / "fer2013.csv.gz", "wt") as out:  # the file name the README uses
        out.write(csv_text(images, labels))
    (tmp_path / "models").mkdir()
    prelude = f"image = {str(astronaut_jpeg)!r}  # the photo the README's snippet classifies\n"
    done = fresh_python(prelude + "\n".join(snippets) + "\nprint('snippets ran')", cwd=tmp_path, timeout=600)
    assert done.returncode == 0 and "snippets ran" in done.stdout, done.stderr[-3000:]
    assert (tmp_path / "models" / "mine.keras").exists()
