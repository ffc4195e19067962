"""The lower bounds in pyproject.toml are what colorgan needs, so installing it keeps a recent stack (Colab's)."""

import json
import re
from importlib import metadata

import pytest
from packaging.version import Version

from colorgan.paths import NOTEBOOKS_DIR, PROJECT_ROOT

tomllib = pytest.importorskip("tomllib", reason="tomllib is in Python 3.11+")

# Package -> (the lowest version colorgan needs, why). Raising one replaces that package in every Colab session.
NEEDS = {
    "tensorflow": ("2.19", "TensorFlow 2.19.1 (with NumPy 2.1.3) loads and runs the shipped generator; Colab's 2025 stack"),
    "numpy": ("1.26", "the color, image, inference, batch and GAN tests pass with NumPy 1.26.4"),
    "keras": ("3.15", "Keras 3.8's evaluate returns tensors where colorgan reads floats; pure Python, so upgrading "
                      "it leaves TensorFlow and NumPy alone"),
    "tensorboard": ("2.19", "TensorFlow 2.19 asks for tensorboard ~= 2.19: a higher bound would replace Colab's TensorFlow"),
    "pillow": ("11.1", "pillow-heif (HEIC photos) needs Pillow >= 11.1; Gradio needs Pillow < 13"),
}


def lower_bounds():
    """{package: lower bound} of pyproject.toml's dependencies."""
    dependencies = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    bounds = {}
    for requirement in dependencies:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:>=|==)([0-9.]+)", requirement.split(";")[0].strip())
        assert match, f"{requirement!r}: a dependency is written name>=version (or name==version)"
        bounds[match[1].lower()] = match[2]
    return bounds


@pytest.mark.parametrize("package", sorted(NEEDS))
def test_the_lower_bound_is_what_colorgan_needs(package):
    assert lower_bounds()[package] == NEEDS[package][0], NEEDS[package][1]


@pytest.mark.parametrize("package", sorted(lower_bounds()))
def test_the_installed_packages_meet_the_bounds(package):
    assert Version(metadata.version(package)) >= Version(lower_bounds()[package])


def test_the_colab_install_cell_never_forces_an_upgrade(monkeypatch, tmp_path):
    """pip's default strategy keeps an installed package that meets the bound (Colab's TensorFlow, NumPy)."""
    from colorgan import colab

    notebook = json.loads((NOTEBOOKS_DIR / "04_colorize.ipynb").read_text())
    assert "colab.install()" in "".join(notebook["cells"][1]["source"])  # the cell installs through colab.install
    commands = []
    monkeypatch.setattr(colab.subprocess, "run", lambda command, **kwargs: commands.append(command))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notebooks").mkdir()
    colab.install(str(tmp_path))
    install = " ".join(commands[0])
    assert len(commands) == 1 and "pip install" in install and str(tmp_path) in install
    assert not re.search(r"--upgrade|\s-U\b|--force-reinstall", install)
