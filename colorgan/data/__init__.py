"""Data: turn folders of real photos into a prepared dataset, and read it as (L, ab) batches.

``prepare`` (no TensorFlow) writes ``<out>/train``, ``<out>/val``, ``summary.json`` and a
manifest; ``make_dataset`` (TensorFlow, imported on first use) reads them back.
"""

import importlib

from colorgan.data.layout import list_images, original_photos

__all__ = ["list_images", "make_dataset", "original_photos", "prepare"]

# Imported on first use: preparation (and its worker processes) must not pay for TensorFlow, and
# `colorgan colorize` (which reads colorgan.data.download) not for preparation's imports.
_LAZY = {"make_dataset": "colorgan.data.pipeline", "prepare": "colorgan.data.preparation"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'colorgan.data' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
