"""Shared fixtures: sample photos that ship with scikit-image, and the real photo folders of ../shared."""

import os
from pathlib import Path

import numpy as np
import pytest

from colorgan.paths import SHARED_DATASETS

# Color photos that ship inside scikit-image (no download needed).
SKIMAGE_COLOR_SAMPLES = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "retina", "immunohistochemistry")


@pytest.fixture(scope="session", autouse=True)
def _own_cache_folder(tmp_path_factory):
    """Generators converted for ONNX Runtime (colorgan.engines) are cached here, not in the user's ~/.cache."""
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if saved is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = saved


@pytest.fixture(scope="session")
def sample_photos():
    """A few real RGB photos from scikit-image, uint8 (H, W, 3)."""
    from skimage import data

    return {name: getattr(data, name)() for name in SKIMAGE_COLOR_SAMPLES}


@pytest.fixture(scope="session")
def shared_datasets():
    """../shared/datasets: skipped on a user's clone without it, but a hard failure in CI."""
    if not SHARED_DATASETS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have the real photos at {SHARED_DATASETS}; it is missing")
        pytest.skip(f"{SHARED_DATASETS} not present (tests on real photo folders run in CI)")
    return SHARED_DATASETS


@pytest.fixture(autouse=True)
def user_cache(tmp_path_factory, monkeypatch):
    """Downloads go to a fresh cache folder per test, never the user's ~/.cache/colorgan."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache / "colorgan"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def write_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def deny_reading(monkeypatch):
    """deny_reading(folder): make it unreadable as its permissions would (root reads every folder, so
    os.scandir stands in for the permission check)."""
    real_scandir = os.scandir

    def deny(folder):
        def scandir(path="."):
            if os.fspath(path) == str(folder):
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(os, "scandir", scandir)

    return deny
