"""A generator's .keras file, read before Keras runs anything from it, and the calibration it carries.

``check_config``: Keras' safe mode refuses a Lambda layer only while it deserializes it, and a
``"class_name": "function"`` entry names any Keras function (``keras.datasets.mnist.load_data``,
``keras.config.set_floatx``), which Keras calls *before* safe mode speaks. So colorgan reads the
archive's ``config.json`` first and accepts only plain serialized Keras objects.

``read_calibration`` / ``write_calibration``: the calibrated gain on ab and working size (see
``colorgan.calibration``) live inside the archive too, as ``colorgan.json`` beside Keras' own members
(Keras ignores members it does not know), so a generator downloaded from a URL or copied out of its
run folder colorizes as its run did.
"""

import json
import os
import zipfile
from pathlib import Path

CALIBRATION_MEMBER = "colorgan.json"
# Layers and objects that carry code rather than configuration.
CODE_CLASSES = frozenset({"Lambda", "function", "__lambda__", "TFOpLambda", "SlicingOpLambda"})


class ModelFileError(ValueError):
    """A model file that is refused before loading, with the file and the reason in the message."""


def _objects(node, where="config"):
    """Every serialized object (a dict with a ``class_name``) in a config, with where it sits."""
    if isinstance(node, dict):
        if "class_name" in node:
            yield where, node
        for key, value in node.items():
            yield from _objects(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _objects(value, f"{where}[{index}]")


def check_config(path):
    """Raise ModelFileError unless every object in ``path``'s config.json is a plain Keras object."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise ModelFileError(f"{path}: corrupt or unreadable Keras model (config.json: {error})") from None
    for where, entry in _objects(config):
        name, module = entry.get("class_name"), entry.get("module")
        registered = entry.get("registered_name")
        if name in CODE_CLASSES:
            raise ModelFileError(f"{path}: refused: it holds code, not only layers ({where} is a {name!r} entry"
                                 f"{f' naming {module}.' + str(entry.get('config')) if name == 'function' else ''}); "
                                 "colorgan loads generators made of plain Keras layers only")
        if (module is not None and not str(module).startswith("keras")) or (registered and ">" in str(registered)):
            raise ModelFileError(f"{path}: refused: {where} is {name!r} from {module or registered!r}, not a Keras "
                                 "layer; colorgan loads generators made of plain Keras layers only")


def load_keras(path):
    """The Keras model in a .keras file, not compiled: its config checked first (``check_config``, which raises
    ModelFileError naming the file), then read by Keras in safe mode. The one way colorgan opens a .keras file."""
    check_config(path)
    import keras  # here: colorize's ONNX path checks files without ever importing Keras

    return keras.models.load_model(path, compile=False, safe_mode=True)


def read_calibration(path):
    """The calibration stored inside a .keras file ({"gain", "working_size", ...}), or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            if CALIBRATION_MEMBER not in archive.namelist():
                return None
            stored = json.loads(archive.read(CALIBRATION_MEMBER))
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ModelFileError(f"{path}: unreadable {CALIBRATION_MEMBER}: {error}") from None
    if not isinstance(stored, dict) or "gain" not in stored:
        raise ModelFileError(f"{path}: {CALIBRATION_MEMBER} holds no gain")
    return stored


def write_calibration(path, **values):
    """Store ``values`` (gain, working_size, ...) inside the .keras file, replacing any stored before.

    The archive is rewritten to a temporary file and renamed, so it is never half written.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(temporary, "w") as target:
            for info in source.infolist():
                if info.filename != CALIBRATION_MEMBER:
                    with source.open(info) as member, target.open(info, "w") as copy:
                        while block := member.read(1 << 20):
                            copy.write(block)
            target.writestr(CALIBRATION_MEMBER, json.dumps(values, indent=2) + "\n")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
