"""colorgan: automatic colorization of grayscale photos with a pix2pix conditional GAN.

The package is thin: ``color`` (the Lab convention), ``images`` (reading any photo),
``data`` (preparation and the tf.data pipeline), ``models`` (U-Net and PatchGAN),
``gan`` (the Pix2Pix keras.Model), ``colorizers`` (a generator with its calibrated settings, one loader),
``inference``, ``batch`` (folders of photos), ``video`` (films) and ``metrics``.
Heavy modules are imported on first use so ``import colorgan`` and ``colorgan --help`` stay fast.
"""

import importlib

__version__ = "0.1.0"

# Public name -> (module that defines it, its name there), imported lazily (PEP 562).
_LAZY = {
    "load_colorizer": ("colorgan.colorizers", "load"),
    "load_generator": ("colorgan.colorizers", "load_generator"),
    "colorize": ("colorgan.inference", "colorize"),
    "colorize_files": ("colorgan.batch", "colorize_files"),
    "colorize_video": ("colorgan.video", "colorize_video"),
}


def __getattr__(name):
    if name in _LAZY:
        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'colorgan' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
