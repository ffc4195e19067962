"""The generator that ships with colorgan, and where ``colorize`` finds a generator when none is named.

``colorgan/pretrained/`` is a run folder in miniature (``colorgan.runs`` layout): ``generator.keras``
with float16 weights (half the size in git and in the wheel), ``config.json`` (its working size),
``color_gain.json`` (its calibrated gain and working size) and ``MODEL_CARD.md``. ``colorizers`` turns it
back into a float32 model, so it computes exactly like the generator it was made from, within
float16 rounding of the weights.

Which generator (``resolve_model``): the shipped one, unless the user names another: a file (or a
run folder), ``URL#sha256=...`` downloaded once into the user's cache (``~/.cache/colorgan/models``)
with its checksum verified, or ``newest``: the newest run (``models/*/generator.keras``). A run is
never picked up on its own: a 6-photo demo run must not replace the shipped generator without a word.
"""

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np

from colorgan import modelfile, runs
from colorgan.data import download
from colorgan.paths import MODELS_DIR

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
SHIPPED_GENERATOR = PRETRAINED_DIR / runs.GENERATOR_NAME
SHIPPED = "shipped"  # --model shipped: the default, named
NEWEST = "newest"  # --model newest: the newest run under models/


def model_cache_dir():
    return download.cache_home() / "models"


def resolve_model(model=None, models_dir=MODELS_DIR):
    """-> (path of a generator .keras file, a few words on where it came from).

    ``model``: None or ``"shipped"`` (the generator shipped with colorgan), ``"newest"`` (the newest run
    under ``models_dir``), ``URL#sha256=<hex>``, a .keras file or a run folder (relative to the current
    folder, as any path a user types).
    """
    model = str(model) if model else SHIPPED
    if model == SHIPPED:
        return SHIPPED_GENERATOR, "the generator shipped with colorgan"
    if model == NEWEST:
        newest = runs.newest_generator(models_dir)
        if newest is None:
            raise ValueError(f"--model newest: no run under {models_dir}/*/{runs.GENERATOR_NAME}; train one "
                             "(make demo, make train) or name a file")
        return newest, "your newest run"
    if download.is_url(model):
        _, checksum = download.split_checksum(model)
        if checksum is None:
            raise ValueError(f"a model URL needs its checksum: {model}#sha256=<64 hex digits>")
        url = model.split("#")[0]
        where = f"cached copy of {url}" if download.is_cached(model, cache_dir=model_cache_dir()) else \
            f"downloaded from {url}"
        return download.download(model, cache_dir=model_cache_dir()), where
    path = Path(model).expanduser().absolute()  # typed by a user: relative to the current folder
    if path == SHIPPED_GENERATOR:  # named by its path (notebook 04, a script): still the shipped one
        return path, "the generator shipped with colorgan"
    if path.is_dir() and (path / runs.GENERATOR_NAME).is_file():  # a run folder: its chosen generator
        return path / runs.GENERATOR_NAME, "given"
    return path, "given"


def with_policy(model, dtype, path=None):
    """A copy of a functional ``model`` whose layers all compute in ``dtype``, weights cast to it.

    ``path``: the .keras file ``model`` was loaded from; its stored config is used instead of
    ``model.get_config()``, which imports TensorFlow whenever it is installed, even under the torch
    or JAX backend.
    """
    import keras  # here: shipped is imported on colorize's fast path, which may never need Keras

    if path is None:
        config = model.get_config()
    else:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))["config"]
    for layer in config["layers"]:
        if "dtype" in layer["config"]:
            layer["config"]["dtype"] = dtype
    copy = keras.Model.from_config(config)
    copy.set_weights([np.asarray(weight).astype(dtype) for weight in model.get_weights()])
    return copy


def is_compact(model):
    """True for a generator stored with float16 weights (``export_compact``)."""
    return any(weight.dtype == "float16" for weight in model.weights)


def export_compact(generator_path, out_dir):
    """Write a run's generator as a float16 .keras file with the run's config and calibrated gain beside it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    generator = modelfile.load_keras(generator_path)
    with_policy(generator, "float16").save(out_dir / runs.GENERATOR_NAME)
    config = runs.read_config(Path(generator_path).parent)
    (out_dir / runs.CONFIG_NAME).write_text(json.dumps({"image_size": config["image_size"],
                                                         "base_filters": config["base_filters"],
                                                         "objective": config["objective"],
                                                         "encoder": config.get("encoder", "none")}, indent=2) + "\n")
    calibrated = runs.gain_file(generator_path)
    if calibrated is not None:
        shutil.copyfile(calibrated, out_dir / runs.GAIN_NAME)
    gain, working_size = runs.read_calibration(generator_path)
    if calibrated is not None or modelfile.read_calibration(generator_path) is not None:  # the file carries it too
        modelfile.write_calibration(out_dir / runs.GENERATOR_NAME, gain=gain, working_size=working_size)
    return out_dir / runs.GENERATOR_NAME
