"""colorgan: automatic colorization of grayscale photos with a pix2pix conditional GAN.

The package is thin: ``color`` (the Lab convention), ``images`` (reading any photo),
``data`` (preparation and the tf.data pipeline), ``models`` (U-Net and PatchGAN),
``gan`` (the Pix2Pix keras.Model), ``inference``, ``batch`` (folders of photos), ``video`` (films) and ``metrics``.
Heavy modules are imported on first use so ``import colorgan`` and ``colorgan --help`` stay fast.
"""

import importlib

__version__ = "0.1.0"

# Public name -> module that defines it (imported lazily, PEP 562).
_LAZY = {
    "load_generator": "colorgan.inference",
    "colorize": "colorgan.inference",
    "colorize_files": "colorgan.batch",
    "colorize_video": "colorgan.video",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'colorgan' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
