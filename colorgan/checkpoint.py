"""One file holds a whole training state: both networks, both optimizers, epoch, step and random state.

Written to a temporary file and moved into place with ``os.replace`` (atomic on POSIX and Windows),
so a run killed at any moment leaves either the previous checkpoint or the new one, never half.
The arrays go into a NumPy ``.npz`` keyed by variable path, checked by name and shape on restore.
A file damaged anyway (a disk error, a copy cut short) is named with what to do (``CheckpointError``).
"""

import json
import os
import random
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import tensorflow as tf

CHECKPOINT_NAME = "state.npz"
# What a truncated or corrupt .npz raises while it is read.
_DAMAGE = (zipfile.BadZipFile, EOFError, OSError, KeyError, zlib.error, ValueError)


class CheckpointError(ValueError):
    """A checkpoint that cannot be used, with the file, the reason and how to recover in the message."""


@contextmanager
def _reading(path):
    """Turn whatever a damaged file raises while read into a CheckpointError that says how to recover."""
    try:
        yield
    except CheckpointError:
        raise
    except _DAMAGE as error:
        raise CheckpointError(
            f"{path}: damaged checkpoint ({type(error).__name__}: {error}). To recover, move it away: the run then "
            "starts again from epoch 0 (its generator.keras and history.csv are replaced as it trains), or put "
            "back a copy of the file you trust") from None


def _groups(model):
    """The variables to save, by group (``Pix2Pix.compile`` has built the optimizers' variables)."""
    return {
        "generator": model.generator.variables,  # weights, BatchNorm statistics, dropout seed states
        "discriminator": model.discriminator.variables,
        "generator_optimizer": model.generator_optimizer.variables,  # step, Adam moments, loss scale
        "generator_average": list(getattr(model, "ema_weights", [])),  # the moving average (empty when off)
        "discriminator_optimizer": model.discriminator_optimizer.variables,
    }


def save_checkpoint(path, model, epoch, best):
    """Save ``model`` (a compiled Pix2Pix) after ``epoch`` completed epochs; ``best`` is the chosen epoch's score."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for group, variables in _groups(model).items():
        for index, variable in enumerate(variables):
            arrays[f"{group}/{index:04d}/{variable.path}"] = np.asarray(variable.numpy())
    meta = {
        "epoch": int(epoch),
        "step": int(model.generator_optimizer.iterations.numpy()),
        "best": None if best is None else list(best),  # the selection rule's score of generator.keras
        "numpy_random": _jsonable(np.random.get_state()),
        "python_random": _jsonable(random.getstate()),
        "tf_random": tf.random.get_global_generator().state.numpy().tolist(),
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as file:
        np.savez(file, **arrays)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    return meta


def read_meta(path):
    """The checkpoint's epoch, step, best score and random state, without loading the weights."""
    with _reading(path), np.load(path) as archive:
        return json.loads(archive["meta"].tobytes().decode())


def restore_checkpoint(path, model):
    """Load a checkpoint into ``model`` (built and compiled the same way); returns its meta dict."""
    with _reading(path), np.load(path) as archive:
        stored = {key: key for key in archive.files if key != "meta"}
        for group, variables in _groups(model).items():
            keys = sorted(key for key in stored if key.startswith(f"{group}/"))
            if len(keys) != len(variables):
                raise CheckpointError(f"checkpoint {path} has {len(keys)} {group} variables, the model has "
                                      f"{len(variables)}: it was written by a different configuration")
            for key, variable in zip(keys, variables, strict=True):
                value = archive[key]
                if tuple(value.shape) != tuple(variable.shape):
                    raise CheckpointError(f"checkpoint {path}: {key} has shape {value.shape}, the model's "
                                          f"{variable.path} has {tuple(variable.shape)}")
                variable.assign(value)
        meta = json.loads(archive["meta"].tobytes().decode())
    np.random.set_state(_tuples(meta["numpy_random"]))
    random.setstate(_tuples(meta["python_random"]))
    tf.random.get_global_generator().reset(np.asarray(meta["tf_random"], dtype=np.int64))
    return meta


def _jsonable(state):
    """Random states are nested tuples holding ndarrays; JSON keeps them as nested lists."""
    if isinstance(state, np.ndarray):
        return state.tolist()
    if isinstance(state, (tuple, list)):
        return [_jsonable(item) for item in state]
    return state


def _tuples(state):
    """Inverse of ``_jsonable`` for numpy and python random states (lists back to tuples)."""
    if isinstance(state, list):
        items = [_tuples(item) for item in state]
        if state and isinstance(state[0], str) and state[0] == "MT19937":  # numpy: (name, keys array, ...)
            return (items[0], np.asarray(items[1], dtype=np.uint32), *items[2:])
        return tuple(items)
    return state
