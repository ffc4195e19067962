"""A training run: resolve the config, build or resume, ``fit``, and keep everything in ``models/<run_name>/``.

    models/<run_name>/
        config.json            every resolved parameter
        generator.keras        the best generator so far by validation L1, after any warm-up (float32)
        generator_last.keras   the generator after the last completed epoch
        checkpoint/state.npz   both networks, both optimizers, epoch, step, random state
        samples/epoch_NNNN.png gray input / generated / real, every ``sample_every`` epochs
        logs/                  TensorBoard
        history.csv            one row of losses per epoch (appended across restarts)

Starting a run whose folder already holds a checkpoint resumes from it (same architecture required).
"""

import json
import math

import keras
import numpy as np
import tensorflow as tf

from colorgan import callbacks, checkpoint, gan, models
from colorgan.paths import resolve

# The paper's settings at 256x256 (Isola et al., 2017); notebooks and profiles override them.
DEFAULTS = {
    "run_name": "default",
    "prepared_dir": "data/prepared/default",
    "models_dir": "models",
    "image_size": 256,
    "base_filters": 64,
    "dropout_rate": 0.5,
    "batch_size": 1,  # the paper: batch size 1 for its U-Net experiments
    "epochs": 200,
    "steps_per_epoch": None,  # None: one pass over the training split
    "validation_steps": None,  # None: the whole validation split
    "generator_learning_rate": gan.LEARNING_RATE,
    "discriminator_learning_rate": gan.LEARNING_RATE,
    "l1_weight": gan.L1_WEIGHT,
    "warmup_epochs": 0,
    "label_smoothing": 0.0,
    "mixed_precision": False,
    "xla": False,
    "cache": False,
    "seed": 0,
    "sample_every": 1,
    "sample_count": 6,
    "checkpoint_every": 1,
}
# Changing these would make the checkpoint unloadable: a resumed run must keep them.
ARCHITECTURE = ("image_size", "base_filters", "mixed_precision")


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def resolve_config(config=None, **overrides):
    """DEFAULTS updated with ``config`` and ``overrides``; unknown names raise ValueError."""
    resolved = dict(DEFAULTS)
    for source in (config or {}, overrides):
        unknown = sorted(set(source) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown training parameters {unknown}; known: {sorted(DEFAULTS)}")
        resolved.update(source)
    models.unet_depth(resolved["image_size"])  # raises ValueError for a size the U-Net cannot take
    for name in ("batch_size", "epochs", "base_filters", "sample_every", "checkpoint_every"):
        if int(resolved[name]) < 1:
            raise ValueError(f"{name} must be >= 1, got {resolved[name]}")
    if not str(resolved["run_name"]).strip() or "/" in str(resolved["run_name"]):
        raise ValueError(f"run_name must be a plain folder name, got {resolved['run_name']!r}")
    return resolved


def run_dir(config):
    return resolve(config["models_dir"]) / config["run_name"]


def _check_same_architecture(folder, config):
    saved = json.loads((folder / "config.json").read_text())
    changed = {name: (saved.get(name), config[name]) for name in ARCHITECTURE if saved.get(name) != config[name]}
    if changed:
        raise ValueError(f"run {folder} was started with different {changed} (saved, asked); "
                         "pick a new run_name or delete the folder to start over")


def _strategy():
    """MirroredStrategy over all GPUs when there are several; otherwise the default (one device)."""
    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()


def build_pix2pix(config):
    """Both networks, the Pix2Pix model and its optimizers, compiled as ``config`` says."""
    generator = models.build_generator(config["image_size"], config["base_filters"], config["dropout_rate"])
    discriminator = models.build_discriminator(config["base_filters"])
    model = gan.Pix2Pix(generator, discriminator, l1_weight=config["l1_weight"],
                        label_smoothing=config["label_smoothing"], warmup_epochs=config["warmup_epochs"])
    model.compile(
        generator_optimizer=gan.paper_optimizer(config["generator_learning_rate"], config["mixed_precision"]),
        discriminator_optimizer=gan.paper_optimizer(config["discriminator_learning_rate"], config["mixed_precision"]),
        jit_compile=bool(config["xla"]))
    return model


def make_datasets(config):
    """(train, val) tf.data pipelines of (L, ab) from the prepared folder."""
    from colorgan.data import make_dataset

    train = make_dataset(config["prepared_dir"], "train", config["image_size"], config["batch_size"],
                         cache=config["cache"], seed=config["seed"])
    if config["steps_per_epoch"]:
        train = train.repeat()  # an epoch is then steps_per_epoch batches, whatever the split's size
    val = make_dataset(config["prepared_dir"], "val", config["image_size"], config["batch_size"],
                       training=False, cache=config["cache"], shuffle=False)
    return train, val


def _sample_batch(val, count):
    """The first ``count`` validation photos: the same ones in every grid of a run. Numpy (L, ab)."""
    lightness, ab = next(iter(val.unbatch().batch(count).take(1)))
    return lightness.numpy(), ab.numpy()


def train(config=None, datasets=None, verbose=1, **overrides):
    """Train (or resume) the run described by ``config``; returns a dict of the run's outcome.

    Args:
        config: parameters (see DEFAULTS), e.g. a notebook's parameters or a params/*.yaml profile.
        datasets: optional (train, val) tf.data datasets of (L, ab); default: ``make_datasets(config)``.
        verbose: Keras' fit verbosity (1: a progress bar per epoch).
    Returns:
        {"run_dir", "config", "history" (this call's Keras history), "initial_epoch", "epoch", "step"}.
    Raises:
        TrainingDiverged: a loss became NaN/inf; the last good checkpoint is left in place.
    """
    config = resolve_config(config, **overrides)
    folder = run_dir(config)
    state_path = folder / "checkpoint" / checkpoint.CHECKPOINT_NAME
    resuming = state_path.is_file()
    if resuming:
        _check_same_architecture(folder, config)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")

    keras.utils.set_random_seed(int(config["seed"]))  # python, numpy and TF random sources
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16" if config["mixed_precision"] else "float32")
    try:
        with _strategy().scope():
            model = build_pix2pix(config)
        export_copy = models.build_generator(config["image_size"], config["base_filters"], config["dropout_rate"],
                                             dtype="float32")
    finally:
        keras.config.set_dtype_policy(previous_policy)

    meta = checkpoint.restore_checkpoint(state_path, model) if resuming else {"epoch": 0, "step": 0, "best": math.inf}
    initial_epoch = meta["epoch"]
    if verbose and resuming:
        print(f"[colorgan] resuming {folder.name} after epoch {initial_epoch} (step {meta['step']})", flush=True)

    train_data, val_data = datasets if datasets is not None else make_datasets(config)
    guard = callbacks.NanGuard()
    adversarial_from = config["warmup_epochs"] if config["warmup_epochs"] < config["epochs"] else 0
    export = callbacks.GeneratorExport(folder, export_copy, guard, best=meta["best"], first_epoch=adversarial_from)
    saver = callbacks.Checkpoint(state_path, config["checkpoint_every"], config["epochs"], guard, export)
    run_callbacks = [
        callbacks.WarmupSwitch(), guard, export,
        callbacks.SampleGrid(folder / "samples", *_sample_batch(val_data, config["sample_count"]),
                             every=config["sample_every"], guard=guard, last_epoch=config["epochs"]),
        saver,
        keras.callbacks.CSVLogger(str(folder / "history.csv"), append=True),
        keras.callbacks.TensorBoard(log_dir=str(folder / "logs"), write_graph=False),
    ]
    history = {}
    if initial_epoch < config["epochs"]:
        history = model.fit(train_data, validation_data=val_data, epochs=config["epochs"],
                            initial_epoch=initial_epoch, steps_per_epoch=config["steps_per_epoch"],
                            validation_steps=config["validation_steps"], callbacks=run_callbacks,
                            shuffle=False, verbose=verbose).history  # the tf.data pipeline shuffles
    if guard.tripped:
        kept = saver.saved_epoch or (initial_epoch if resuming else None)
        where = f"the last good checkpoint (epoch {kept}) is kept in {state_path}" if kept else \
            "no checkpoint was written before it"
        raise TrainingDiverged(f"training stopped: {guard.message}; {where}. Lower the learning rates or "
                               "check the data for broken images.")
    epoch = max(initial_epoch, saver.saved_epoch or 0)
    return {"run_dir": folder, "config": config, "history": history, "initial_epoch": initial_epoch,
            "epoch": epoch, "step": int(model.generator_optimizer.iterations.numpy()), "model": model}


def read_history(folder):
    """``history.csv`` of a run (every epoch, across restarts) as {column: float array}."""
    import csv

    path = resolve(folder) / "history.csv"
    if not path.is_file():
        raise ValueError(f"no history.csv in {path.parent}: has this run trained an epoch yet?")
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    return {name: np.array([float(row[name]) for row in rows]) for name in (rows[0] if rows else [])}
