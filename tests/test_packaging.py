"""The package as pip builds it: the shipped models inside, found from anywhere, and the ``fer`` command."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO

from fer_core.paths import PACKAGE_DIR


def test_the_package_list_in_pyproject_names_every_subpackage():
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(path.parent.relative_to(REPO).parts) for path in PACKAGE_DIR.rglob("__init__.py")}
    assert found <= listed and listed - found == {"fer_core.shipped_models", "fer_core.shipped_models.detector"}


@pytest.mark.slow
def test_a_built_wheel_carries_the_models_and_the_fer_command(tmp_path):
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(wheels)],
                   check=True, timeout=600)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    *map(str, wheels.glob("*.whl"))], check=True, timeout=600)
    env = {**os.environ, "PYTHONPATH": str(target)}
    check = ("from fer_core import Predictor; from fer_core.paths import MODELS_DIR; import sys\n"
             "faces = Predictor.load().predict(sys.argv[1])\n"
             "print(MODELS_DIR, faces[0].label)")
    done = subprocess.run([sys.executable, "-c", check, str(REPO / "assets" / "example_astronaut.jpg")],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [str(target / "fer_core" / "shipped_models"), "happy"]
    helped = subprocess.run([str(target / "bin" / "fer"), "--help"], capture_output=True, text=True, env=env,
                            timeout=120)
    assert helped.returncode == 0 and "predict" in helped.stdout
