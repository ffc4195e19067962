"""Which engine runs the generator when colorizing: ONNX Runtime (fast to start) or Keras (TensorFlow).

Colorizing needs only the generator's forward pass. Importing TensorFlow takes seconds, 80 % of a
one-photo ``colorgan colorize``; ONNX Runtime starts in a tenth of a second and runs the U-Net as
fast on a CPU. So ``auto`` (the default of ``colorize``) picks ``onnx`` when onnxruntime is
installed, else ``tensorflow``: the Keras model under Keras' backend (TensorFlow unless
KERAS_BACKEND says otherwise). Training stays in Keras.

The ONNX graph is converted from the .keras file without Keras (``onnx_export``) and cached in the
user's cache folder (``$XDG_CACHE_HOME/colorgan/onnx``, else ``~/.cache/colorgan/onnx``), keyed by the
file's SHA-256, so later runs skip the conversion. A generator with a layer the converter does not
know runs in Keras under ``auto`` (with a message saying why) and is refused under ``onnx``.
"""

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

from colorgan import onnx_export

ENGINES = ("onnx", "tensorflow")
CHOICES = ("auto", *ENGINES)
_ONNX_PACKAGES = ("onnxruntime", "onnx")


class EngineError(ValueError):
    """An engine that cannot run this generator here, with the reason in the message."""


def installed(engine):
    """True when ``engine``'s packages are importable (looked up, not imported: that is the slow part)."""
    if engine == "onnx":
        return all(importlib.util.find_spec(package) is not None for package in _ONNX_PACKAGES)
    if engine == "tensorflow":
        return importlib.util.find_spec("keras") is not None
    raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(CHOICES)}")


def choose(engine="auto"):
    """``auto``, ``onnx`` or ``tensorflow`` -> the engine to use (``auto``: ONNX Runtime when installed)."""
    if engine not in CHOICES:
        raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(CHOICES)}")
    if engine == "auto":
        return "onnx" if installed("onnx") else "tensorflow"
    if not installed(engine):
        raise EngineError(f"the {engine} engine is not installed (pip install {' '.join(_ONNX_PACKAGES)})")
    return engine


def cache_dir():
    """Where converted generators are kept: ``$XDG_CACHE_HOME/colorgan/onnx`` or ``~/.cache/colorgan/onnx``."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "colorgan" / "onnx"


def onnx_bytes(path, cache=None):
    """The generator at ``path`` (.keras) as a serialized ONNX model: from the cache, else converted and cached.

    The key is the file's SHA-256 and the converter's version, so an edited or replaced file is converted
    anew. A cache folder that cannot be written only costs the conversion on every run.
    """
    cache = cache_dir() if cache is None else Path(cache)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    cached = cache / f"{digest}.v{onnx_export.VERSION}.onnx"
    if cached.is_file():
        return cached.read_bytes()
    data = onnx_export.to_onnx(path).SerializeToString()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, cached)  # atomic: a concurrent reader sees all of it or nothing
    except OSError as error:
        print(f"note: could not cache the ONNX generator in {cache}: {error}", file=sys.stderr)
    return data


class OnnxGenerator:
    """A generator run by ONNX Runtime, called as the Keras one is: L (B, H, W, 1) -> ab (B, H, W, 2), NumPy."""

    engine = "onnx"

    def __init__(self, path, cache=None, threads=None):
        import onnxruntime  # here: engines is imported by `colorgan --help`, and installed() only looks it up

        options = onnxruntime.SessionOptions()
        # Threads that spin while waiting for the next call would take the core that decodes and encodes photos.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = int(threads)
        self.session = onnxruntime.InferenceSession(onnx_bytes(path, cache), options,
                                                    providers=["CPUExecutionProvider"])
        (given,) = self.session.get_inputs()
        self.input_name = given.name
        self.size_multiple = int(self.session.get_modelmeta().custom_metadata_map.get("size_multiple", 1))
        self.input_shape = tuple(dim if isinstance(dim, int) else None for dim in given.shape)
        # One run on the smallest input it accepts: the output's channels, and proof that the graph runs.
        probe = np.zeros((1, self.size_multiple, self.size_multiple, self.input_shape[-1] or 1), np.float32)
        self.output_shape = (*self.input_shape[:3], int(self(probe).shape[-1]))
        self.name = Path(path).stem

    def __call__(self, lightness, training=False):
        return self.session.run(None, {self.input_name: np.asarray(lightness, np.float32)})[0]


def load_network(path, engine="auto"):
    """The network in ``path`` (.keras) under ``engine`` -> a callable L -> ab, or None for ``tensorflow``
    (the caller loads the Keras model); ``auto`` falls back to None, saying why, when ONNX cannot run it.

    Raises:
        EngineError: ``onnx`` asked for and not installed or unable to run this generator.
    """
    chosen = choose(engine)
    if chosen == "tensorflow":
        return None
    try:
        return OnnxGenerator(path)
    except Exception as error:  # a layer not converted, or a file Keras may still read (or explain)
        reason = str(error) if isinstance(error, onnx_export.ExportError) else \
            f"{path}: not converted to ONNX: {type(error).__name__}: {error}"
        if engine == "onnx":
            raise EngineError(f"the onnx engine cannot run this generator: {reason}") from None
        if isinstance(error, onnx_export.ExportError):  # otherwise Keras says what is wrong with the file, if anything
            print(f"note: colorizing with TensorFlow, which starts slower: {reason}", file=sys.stderr)
        return None
