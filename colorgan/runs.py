"""The run folder: what a training run leaves in ``models/<run_name>/``, named once, read by one reader each.

    models/<run_name>/
        config.json            every resolved parameter (``read_config``)
        generator.keras        the chosen epoch's generator (``colorgan.selection``'s rule), float32
        selection.json         which epoch that is, with its validation figures and the rule
        generator_last.keras   the generator after the last completed epoch
        color_gain.json        the calibrated gain on ab and working size that ``colorize`` applies by default
                               (``color_strength.json`` in runs calibrated before it was named for the gain)
        color_prior.npy        the training colors' distribution over ab bins (classification, l1_rebalanced)
        checkpoint/state.npz   both networks, both optimizers, moving average, epoch, step, random state
        samples/epoch_NNNN.png gray input / generated / real, every ``sample_every`` epochs
        logs/                  TensorBoard
        history.csv            one row per epoch: losses and the color monitor (appended across restarts)
"""

import csv
import json
import os
from pathlib import Path

import numpy as np

from colorgan import modelfile
from colorgan.paths import MODELS_DIR, resolve

CONFIG_NAME = "config.json"
GENERATOR_NAME = "generator.keras"
LAST_GENERATOR_NAME = "generator_last.keras"
GAIN_NAME = "color_gain.json"
SELECTION_NAME = "selection.json"
OLD_GAIN_NAME = "color_strength.json"  # the same file, as runs calibrated before the rename named it: still read
PRIOR_NAME = "color_prior.npy"
PRECISION_NAME = "precision.json"  # precision "auto": what the run measured and chose, so a resumed run keeps it
CHECKPOINT_PATH = Path("checkpoint") / "state.npz"
SAMPLES_DIR = "samples"
LOGS_DIR = "logs"
HISTORY_NAME = "history.csv"


class RunError(ValueError):
    """A run folder file that cannot be used, with the file and the reason in the message."""


def run_dir(config):
    """models_dir / run_name of a resolved training config."""
    return resolve(config["models_dir"]) / config["run_name"]


def folder_of(path):
    """The run folder of a run folder or of a file inside it (a generator.keras)."""
    path = resolve(path)
    return path if path.is_dir() else path.parent


def read_config(path):
    """config.json of a run (folder or a file in it), or {} when there is none."""
    config_path = folder_of(path) / CONFIG_NAME
    if not config_path.is_file():
        return {}
    try:
        return json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise RunError(f"{config_path}: unreadable run config: {error}") from None


def write_config(folder, config):
    """Write config.json whole or not at all (workers of a cluster read it while the chief writes it)."""
    temporary = Path(folder) / f".{CONFIG_NAME}.tmp"
    temporary.write_text(json.dumps(config, indent=2) + "\n")
    os.replace(temporary, Path(folder) / CONFIG_NAME)


def read_history(path):
    """history.csv of a run (every epoch, across restarts) as {column: float array}."""
    history_path = folder_of(path) / HISTORY_NAME
    if not history_path.is_file():
        raise RunError(f"no {HISTORY_NAME} in {history_path.parent}: has this run trained an epoch yet?")
    with open(history_path, newline="") as file:
        rows = list(csv.DictReader(file))
    return {name: np.array([float(row[name]) if row[name] not in ("", None) else np.nan for row in rows])
            for name in (rows[0] if rows else [])}


def trim_history(path, epochs):
    """Keep only the rows of history.csv for the first ``epochs`` epochs (the ones a checkpoint holds).

    A run killed after logging an epoch but before checkpointing it trains that epoch again on resume;
    without this, history.csv would hold it twice. Rewritten whole or not at all.
    """
    history_path = folder_of(path) / HISTORY_NAME
    if not history_path.is_file():
        return
    with open(history_path, newline="") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        rows = list(reader)
    if header is None or "epoch" not in header:
        return
    column = header.index("epoch")
    kept = [row for row in rows if len(row) > column and row[column].isdigit() and int(row[column]) < epochs]
    if len(kept) == len(rows):
        return
    temporary = history_path.with_name(f".{HISTORY_NAME}.tmp")
    with open(temporary, "w", newline="") as file:
        csv.writer(file).writerows([header, *kept])
    os.replace(temporary, history_path)


def newest_generator(models_dir=MODELS_DIR):
    """The newest ``<models_dir>/*/generator.keras`` (the latest run), or None."""
    candidates = sorted(Path(models_dir).glob(f"*/{GENERATOR_NAME}"), key=lambda path: path.stat().st_mtime)
    return candidates[-1] if candidates else None


def read_calibration(path):
    """(gain, working size) calibrated for a generator: stored inside its .keras file (``modelfile``), else
    in color_gain.json beside it (files saved before the archive carried it); (1.0, None) when none."""
    path = resolve(path)
    if path.is_file():
        try:
            stored = modelfile.read_calibration(path)
        except modelfile.ModelFileError as error:
            raise RunError(str(error)) from None
        if stored is not None:
            size = stored.get("working_size")
            return float(stored["gain"]), int(size) if size else None
    gain_path = gain_file(path)
    if gain_path is None:
        return 1.0, None
    try:
        stored = json.loads(gain_path.read_text())
        size = stored.get("working_size")
        return float(stored["gain"]), int(size) if size else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise RunError(f"{gain_path}: unreadable calibrated gain: {error}") from None


def gain_file(path):
    """The calibrated-gain file of a run (folder or a file in it): color_gain.json, else the old
    color_strength.json; None when the run has not been calibrated."""
    folder = folder_of(path)
    return next((folder / name for name in (GAIN_NAME, OLD_GAIN_NAME) if (folder / name).is_file()), None)


def write_gain(folder, gain, **details):
    """Store the calibrated gain (and how it was chosen) in the run folder's color_gain.json, and the gain
    and working size inside its generator.keras, which carries them wherever it is copied or downloaded."""
    path = Path(folder) / GAIN_NAME
    path.write_text(json.dumps({"gain": float(gain), **details}, indent=2) + "\n")
    generator = Path(folder) / GENERATOR_NAME
    if generator.is_file():
        modelfile.write_calibration(generator, gain=float(gain), working_size=details.get("working_size"))
    return path
