"""A Colorizer: a generator network with the settings it colorizes at, and where it came from; one loader.

The settings belong to the run that calibrated the generator, not to the Keras model: its **gain** on
the predicted ab and its **working size** (the long side the network sees a photo at). ``load`` reads
them, once, from the first place that has them:

1. ``colorgan.json`` inside the .keras file (``modelfile``), so a copied or downloaded generator colorizes
   as its run did;
2. ``color_gain.json`` beside it (``runs``; ``color_strength.json`` in runs calibrated before the rename);
3. defaults: gain 1, and the working size is ``image_size`` from the run's ``config.json``, else 256.

"Strength" is only ever the user's multiplier on that gain (``color_strength``: 0 gray, 1 calibrated).
Every way in (``colorgan colorize``, ``batch``, ``evaluate``, the scoreboard, the app, films, notebooks)
loads through ``load``; ``load_generator`` gives the bare network (training, ``.summary()``).
"""

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from colorgan import engines, modelfile, runs, shipped

DEFAULT_WORKING_SIZE = 256  # the paper's working resolution, for a generator with no run beside it


class ModelError(ValueError):
    """A generator file that cannot be used, with the file and the reason in the message."""


@dataclass(frozen=True)
class Colorizer:
    """A generator and the settings it colorizes at (``dataclasses.replace`` gives one with other settings)."""

    generator: object  # L (B, H, W, 1) -> ab (B, H, W, 2), both in [-1, 1]: a keras.Model or engines.OnnxGenerator
    gain: float = 1.0  # the calibrated gain on ab; the user's color_strength multiplies it
    working_size: int = DEFAULT_WORKING_SIZE  # the long side a photo is shrunk to for the network, in pixels
    engine: str = "tensorflow"  # what runs the network: "onnx" or "tensorflow" (Keras, under its backend)
    path: Path | None = None  # the .keras file; None for a network built in memory
    source: str = "built in memory"  # where it came from: "the generator shipped with colorgan", "given", ...

    @classmethod
    def of(cls, generator):
        """A Colorizer as it is; a bare network with the defaults (gain 1, working size 256)."""
        return generator if isinstance(generator, cls) else cls(generator, engine=_engine_of(generator))

    def gain_at(self, color_strength=1.0):
        """The gain on ab that colorizing applies: the calibrated gain times the user's ``color_strength``."""
        if color_strength is None:
            color_strength = 1.0
        if not np.isfinite(color_strength) or color_strength < 0:
            raise ValueError(f"color_strength must be a number >= 0 (0: gray, 1: calibrated), got {color_strength}")
        return float(self.gain) * float(color_strength)


def load(model=None, engine="tensorflow"):
    """The one loader: a generator as a user names it -> its Colorizer.

    ``model``: None or ``"shipped"`` (the generator shipped with colorgan), ``"newest"``, a .keras file or
    run folder, or ``URL#sha256=<hex>`` (``shipped.resolve_model``). ``engine``: ``tensorflow`` (default),
    ``onnx`` or ``auto`` (``engines``); under ``onnx`` TensorFlow is never imported.

    Raises:
        ModelError: naming the file, as ``load_generator``, or if its calibration is unreadable.
        ValueError: a URL without its checksum, ``newest`` with no run.
    """
    path, source = shipped.resolve_model(model)
    generator = load_generator(path, engine)
    gain, working_size = read_settings(path)
    return Colorizer(generator, gain, working_size, _engine_of(generator), Path(path).expanduser().absolute(), source)


def _engine_of(generator):
    return "onnx" if isinstance(generator, engines.OnnxGenerator) else "tensorflow"


def read_settings(path):
    """(gain, working size) a generator colorizes at: its calibration (file, then run folder), else the
    defaults (gain 1; the run's ``image_size``, else ``DEFAULT_WORKING_SIZE``)."""
    try:
        gain, working_size = runs.read_calibration(path)
        return gain, working_size or int(runs.read_config(path).get("image_size", DEFAULT_WORKING_SIZE))
    except runs.RunError as error:
        raise ModelError(str(error)) from None


def load_generator(path=None, engine="tensorflow"):
    """The bare generator network in a .keras file (safe mode on), checked: no settings (see ``load``).

    With no ``path``: the generator shipped with colorgan. The archive's config.json is checked before
    Keras reads it (``modelfile.check_config``). ``engine``: ``tensorflow`` gives the Keras model (float32),
    ``onnx`` or ``auto`` (ONNX Runtime when installed) an ``engines.OnnxGenerator`` that computes the same.

    Raises:
        ModelError: naming the file, if it is missing, not a Keras file, corrupt, or not an
            L -> ab generator (input 1 channel, output 2 channels).
    """
    path = Path(path if path is not None else shipped.SHIPPED_GENERATOR).expanduser().absolute()
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a Keras model file (expected a .keras zip archive saved by model.save)")
    try:
        modelfile.check_config(path)
    except modelfile.ModelFileError as error:
        raise ModelError(str(error)) from None
    try:
        generator = engines.load_network(path, engine) or _load_keras(path)
    except engines.EngineError:
        raise
    except Exception as error:  # Keras raises many types for a damaged archive; all mean the same here
        raise ModelError(f"{path}: corrupt or unreadable Keras model: {type(error).__name__}: {error}") from None
    input_shape, output_shape = tuple(generator.input_shape), tuple(generator.output_shape)
    if len(input_shape) != 4 or input_shape[-1] != 1 or len(output_shape) != 4 or output_shape[-1] != 2:
        raise ModelError(f"{path}: incompatible model: a colorization generator maps (batch, H, W, 1) L to "
                         f"(batch, H, W, 2) ab, but this one maps {input_shape} to {output_shape}")
    return generator


def _load_keras(path):
    generator = modelfile.load_keras(path)  # Keras imported there: under the onnx engine it never is
    if shipped.is_compact(generator):  # float16 weights for storage: compute in float32 as trained
        generator = shipped.with_policy(generator, "float32", path)
    return generator
