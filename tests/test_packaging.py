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


def _requirements(name: str) -> list:
    """The requirements a file of ours lists, those of the files it includes (-r) first."""
    from packaging.requirements import Requirement

    found = []
    for line in (REPO / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            found += _requirements(line[3:])
        elif line:
            found.append(Requirement(line))
    return found


def _platform(sys_platform: str, machine: str, python: str) -> dict[str, str]:
    """The environment markers of a CPython ``python`` on that platform."""
    return {"sys_platform": sys_platform, "platform_machine": machine, "python_version": python,
            "python_full_version": f"{python}.0", "os_name": "nt" if sys_platform == "win32" else "posix",
            "platform_system": {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}[sys_platform],
            "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}


PLATFORMS = [(system, machine, python) for system, machine in
             [("linux", "x86_64"), ("linux", "aarch64"), ("darwin", "arm64"), ("darwin", "x86_64"), ("win32", "AMD64")]
             for python in ("3.11", "3.12", "3.13", "3.14")]


def _pins(name: str, platform: tuple[str, str, str]) -> dict[str, str]:
    """Each package the file installs on ``platform``, with its version; one version each, or the test fails."""
    pins: dict[str, str] = {}
    for requirement in _requirements(name):
        if requirement.marker is None or requirement.marker.evaluate(_platform(*platform)):
            version = str(requirement.specifier).removeprefix("==")
            assert pins.setdefault(requirement.name, version) == version, (name, platform, requirement)
    return pins


def test_pyproject_depends_on_what_requirements_txt_pins():
    import tomllib

    from packaging.requirements import Requirement

    listed = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert sorted(map(str, map(Requirement, listed))) == sorted(map(str, _requirements("requirements.txt")))


@pytest.mark.parametrize("platform", PLATFORMS, ids="-".join)
def test_every_platform_gets_one_keras_backend_and_one_version_of_each_package(platform):
    runtime, dev = _pins("requirements.txt", platform), _pins("requirements-dev.txt", platform)
    system, machine, python = platform
    backends = {"tensorflow", "tensorflow-cpu"} & runtime.keys() or {"jax"} & runtime.keys()
    assert len(backends) == 1 and "onnxruntime" in runtime and "keras" in runtime
    intel_mac = system == "darwin" and machine == "x86_64"
    if intel_mac:  # the last versions with Intel Mac wheels
        assert backends == {"jax"} and runtime["jax"] == runtime["jaxlib"] == "0.4.38"
        assert runtime["onnxruntime"] == "1.23.2" and "ai-edge-litert" not in runtime
    elif python == "3.14":
        assert backends == {"jax"} and runtime["jax"] == runtime["jaxlib"] == "0.10.2"
    else:
        assert backends == {"tensorflow-cpu" if platform[:2] == ("linux", "x86_64") else "tensorflow"}
    assert {name: dev[name] for name in runtime} == runtime  # the dev file adds packages, never another version


@pytest.mark.slow
def test_a_built_wheel_carries_the_models_and_the_fer_command(tmp_path):
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(wheels)],
                   check=True, timeout=600)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    *map(str, wheels.glob("*.whl"))], check=True, timeout=600)
    env = {**os.environ, "PYTHONPATH": str(target)}
    check = ("from fer_core import Predictor; from fer_core.paths import MODELS_DIR; import sys\n"
             "predictor = Predictor.load(); faces = predictor.predict(sys.argv[1])\n"
             "print(MODELS_DIR, faces[0].label, predictor.engine_name)")
    done = subprocess.run([sys.executable, "-c", check, str(REPO / "assets" / "example_astronaut.jpg")],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [str(target / "fer_core" / "shipped_models"), "happy", "onnx"]  # its int8 file
    helped = subprocess.run([str(target / "bin" / "fer"), "--help"], capture_output=True, text=True, env=env,
                            timeout=120)
    assert helped.returncode == 0 and "predict" in helped.stdout
