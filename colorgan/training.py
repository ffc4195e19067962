"""A training run: resolve the config, build or resume, ``fit``, choose and calibrate, all in the run folder.

The run folder's layout is ``colorgan.runs``. Starting a run whose folder already holds a
checkpoint resumes from it (same architecture required). After the last epoch the chosen
generator's color strength is calibrated on the validation photos (``colorgan.calibration``).
Where it computes (one device, several GPUs, several workers) is ``colorgan.distribute``'s choice.
"""

import functools
import json
import os
import sys
import zlib

import keras
import numpy as np

from colorgan import (
    calibration,
    callbacks,
    checkpoint,
    distribute,
    encoder_unet,
    gan,
    models,
    objectives,
    precision,
    progress,
    runs,
)
from colorgan.paths import resolve

# The paper's settings at 256x256 (Isola et al., 2017); notebooks and profiles override them.
DEFAULTS = {
    "run_name": "default",
    "prepared_dir": "data/prepared/default",
    "extra_train_dirs": [],  # more prepared folders to train on (all their photos; never validated on)
    "models_dir": "models",
    "init_from": "",  # a generator .keras file to start from (fine-tuning); "": random weights. Not when resuming.
    "image_size": 256,
    "encoder": "none",  # none: the paper's U-Net; efficientnet_lite0: ImageNet-pretrained encoder (encoder_unet)
    "pretrained": True,  # efficientnet_lite0: start from ImageNet's weights (False: random, to measure their share)
    "frozen_epochs": 0,  # efficientnet_lite0: the encoder's weights and BatchNorm statistics stay fixed this long
    "base_filters": 64,
    "dropout_rate": 0.5,
    "batch_size": 1,  # the paper: batch size 1 for its U-Net experiments
    "epochs": 200,
    "steps_per_epoch": None,  # None: one pass over the training split
    "max_zoom": 286 / 256,  # training crops zoom in by up to this (the paper: 256 -> 286, then crop 256)
    "validation_steps": None,  # None: the whole validation split
    "generator_learning_rate": gan.LEARNING_RATE,
    "discriminator_learning_rate": gan.LEARNING_RATE,
    "decay_epochs": 0,  # the last epochs decay both learning rates linearly toward 0 (the paper: 100 of 200)
    "l1_weight": gan.L1_WEIGHT,  # lambda: weight of the reconstruction objective beside the GAN term
    "objective": "l1",  # the paper's; or huber, l2, l1_rebalanced, classification (see colorgan.objectives)
    "decode_temperature": objectives.DECODE_TEMPERATURE,  # classification: annealed-mean temperature
    "rebalance": objectives.REBALANCE_LAMBDA,  # classification, l1_rebalanced: uniform share of the prior (1 = none)
    "warmup_epochs": 0,  # generator alone first (the discriminator is not run)
    "critic_epochs": 0,  # then the discriminator alone against the frozen generator (NoGAN)
    "adversarial_weight": 1.0,  # weight of the GAN term in the generator's loss
    "ema_decay": 0.0,  # > 0: export a moving average of the generator's weights (e.g. 0.999)
    "label_smoothing": 0.0,
    "precision": "auto",  # auto: bfloat16 on CPUs with AMX/AVX512-BF16, float16 on a GPU, else float32
    "min_colorfulness_ratio": calibration.MIN_COLORFULNESS_RATIO,  # the selection rule (calibration)
    "strength_margin_db": calibration.MARGIN_DB,  # the color strength: beat gray by this much PSNR
    "strength_margin_ciede": calibration.MARGIN_CIEDE,  # ... and this much CIEDE2000, on the validation photos
    "calibrate": True,
    # Working sizes (x image_size) the calibration tries on the original-size validation photos (~500 px long):
    # crops cover half to all of a photo's short side, so objects look about as in training at 2-3 x. The
    # reference run's calibration chose 3 x (3.5 x as colorful, 4 x less at the same fidelity).
    "working_size_factors": [1, 1.5, 2, 2.5, 3, 3.5, 4],
    "xla": False,
    "cache": False,
    "seed": 0,
    "sample_every": 1,
    "sample_count": 6,
    "checkpoint_every": 1,
}
# Changing these would make the checkpoint unloadable: a resumed run must keep them.
ARCHITECTURE = ("image_size", "base_filters", "precision", "objective", "encoder")
ENCODERS = ("none", "efficientnet_lite0")


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
    if resolved["encoder"] not in ENCODERS:
        raise ValueError(f"encoder must be one of {ENCODERS}, got {resolved['encoder']!r}")
    if resolved["encoder"] == "none":
        models.unet_depth(resolved["image_size"])  # raises ValueError for a size the U-Net cannot take
    elif int(resolved["image_size"]) % encoder_unet.SIZE_MULTIPLE:
        raise ValueError(f"image_size must be a multiple of {encoder_unet.SIZE_MULTIPLE} with the "
                         f"{resolved['encoder']} encoder, got {resolved['image_size']}")
    if int(resolved["frozen_epochs"]) < 0:
        raise ValueError(f"frozen_epochs must be >= 0, got {resolved['frozen_epochs']}")
    if resolved["precision"] not in precision.PRECISIONS:
        raise ValueError(f"precision must be one of {precision.PRECISIONS}, got {resolved['precision']!r}")
    objectives.check_objective(resolved["objective"])
    for name in ("batch_size", "epochs", "base_filters", "sample_every", "checkpoint_every"):
        if int(resolved[name]) < 1:
            raise ValueError(f"{name} must be >= 1, got {resolved[name]}")
    if not 0 <= int(resolved["decay_epochs"]) <= int(resolved["epochs"]):
        raise ValueError(f"decay_epochs must be in [0, epochs={resolved['epochs']}], got {resolved['decay_epochs']}")
    if not str(resolved["run_name"]).strip() or "/" in str(resolved["run_name"]):
        raise ValueError(f"run_name must be a plain folder name, got {resolved['run_name']!r}")
    return resolved


def run_dir(config):
    return runs.run_dir(config)


def _check_same_architecture(folder, config):
    saved = runs.read_config(folder)
    changed = {name: (saved.get(name), config[name]) for name in ARCHITECTURE if saved.get(name) != config[name]}
    if changed:
        raise ValueError(f"run {folder} was started with different {changed} (saved, asked); "
                         "pick a new run_name or delete the folder to start over")


def _fingerprint(config):
    """A number that differs when the recipe differs (paths may differ between workers' machines)."""
    recipe = {name: value for name, value in config.items() if name not in ("models_dir", "prepared_dir",
                                                                            "extra_train_dirs")}
    return zlib.crc32(json.dumps(recipe, sort_keys=True, default=str).encode())


def build_generator(config, dtype=None, pretrained=None):
    """The config's generator: the paper's tanh U-Net or the EfficientNet-Lite0 one, each with a tanh head or a
    classification head over ab bins. ``pretrained``: override the config's (False for a copy whose weights
    are set from elsewhere, which need not read ImageNet's)."""
    classification = config["objective"] == "classification"
    head = {"bin_centres": objectives.gamut_bins() if classification else None,
            "temperature": config["decode_temperature"] if classification else None}
    if config["encoder"] == "efficientnet_lite0":
        pretrained = config["pretrained"] if pretrained is None else pretrained
        return encoder_unet.build_generator(pretrained=bool(pretrained), dtype=dtype, **head)
    return models.build_generator(config["image_size"], config["base_filters"], config["dropout_rate"], dtype=dtype,
                                  **head)


def build_pix2pix(config, class_weights=None):
    """Both networks, the Pix2Pix model and its optimizers, built in the config's precision and compiled.

    Args:
        class_weights: (Q,) rebalancing weights for the classification objective (default: none).
    """
    config = resolve_config(config)
    loss_scaling = precision.needs_loss_scaling(config["precision"])
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision.policy(config["precision"]))
    try:
        generator = build_generator(config)
        discriminator = models.build_discriminator(config["base_filters"])
    finally:
        keras.config.set_dtype_policy(previous_policy)
    model = gan.Pix2Pix(generator, discriminator, l1_weight=config["l1_weight"],
                        label_smoothing=config["label_smoothing"], warmup_epochs=config["warmup_epochs"],
                        critic_epochs=config["critic_epochs"], objective=config["objective"],
                        class_weights=class_weights, adversarial_weight=config["adversarial_weight"],
                        ema_decay=config["ema_decay"], frozen_epochs=config["frozen_epochs"],
                        frozen_layers=encoder_unet.encoder_layers(generator))
    model.compile(
        generator_optimizer=gan.paper_optimizer(config["generator_learning_rate"], loss_scaling),
        discriminator_optimizer=gan.paper_optimizer(config["discriminator_learning_rate"], loss_scaling),
        jit_compile=bool(config["xla"]))
    return model


def class_weights_for(config, folder, train_data, batches=64, save=True):
    """Rebalancing weights of a classification or l1_rebalanced run from its training colors (kept in the run folder,
    so a resumed run uses the same ones); None for the other objectives.

    ``save``: write them to the run folder (only the chief does on a cluster; the other workers compute
    the same numbers from the same, unsharded pipeline).
    """
    if config["objective"] not in objectives.REBALANCED:
        return None
    path = folder / runs.PRIOR_NAME
    centres = objectives.gamut_bins()
    if path.is_file():
        prior = np.load(path)
    else:
        prior = objectives.color_prior((ab.numpy() for _, ab in train_data.take(batches)), centres)
        if save:
            temporary = path.with_name(f".{path.stem}.tmp.npy")  # whole or absent for a worker reading it
            np.save(temporary, prior)
            os.replace(temporary, path)
    return objectives.rebalancing_weights(prior, config["rebalance"])


def make_datasets(config, drop_remainder=False):
    """(train, val) tf.data pipelines of (L, ab) from the prepared folder (``drop_remainder``: whole batches)."""
    from colorgan.data import make_dataset

    train = make_dataset(config["prepared_dir"], "train", config["image_size"], config["batch_size"],
                         cache=config["cache"], seed=config["seed"], extra_dirs=config["extra_train_dirs"],
                         max_zoom=config["max_zoom"], drop_remainder=drop_remainder)
    if config["steps_per_epoch"]:
        train = train.repeat()  # an epoch is then steps_per_epoch batches, whatever the split's size
    val = make_dataset(config["prepared_dir"], "val", config["image_size"], config["batch_size"],
                       training=False, cache=config["cache"], shuffle=False, drop_remainder=drop_remainder)
    return train, val


def start_from(model, path):
    """Fine-tuning: the generator (and its moving average) starts from a saved generator's weights."""
    from colorgan import colorizers

    source = colorizers.load_generator(resolve(path))
    try:
        model.generator.set_weights(source.get_weights())
    except ValueError as error:
        raise ValueError(f"{path}: this generator does not fit the run's architecture (image_size, base_filters, "
                         f"objective): {error}") from None
    for average, value in zip(model.ema_weights, model.generator.get_weights(), strict=False):
        average.assign(value)


def _sample_batch(val, count):
    """The first ``count`` validation photos: the same ones in every grid of a run. Numpy (L, ab)."""
    lightness, ab = next(iter(val.unbatch().batch(count).take(1)))
    return lightness.numpy(), ab.numpy()


def _validation_arrays(val, limit=512):
    """Up to ``limit`` validation crops as numpy (L, ab): what the color monitor scores every epoch."""
    lightness, ab = next(iter(val.unbatch().batch(limit).take(1)))
    return lightness.numpy(), ab.numpy()


def calibrate(folder, config=None, verbose=1):
    """Calibrate the color strength of the run's generator.keras on its validation photos; returns the gain.

    ``config``: the run's (default: its config.json, with today's defaults for names it lacks).
    """
    from colorgan import colorizers
    from colorgan.data.layout import original_photos, split_folder

    folder = runs.folder_of(folder)
    saved = runs.read_config(folder)
    config = {**DEFAULTS, **(config or {name: value for name, value in saved.items() if name in DEFAULTS})}

    generator = colorizers.load_generator(folder / runs.GENERATOR_NAME)
    photos = calibration.calibration_photos(original_photos(config["prepared_dir"], "val"))  # as users see them
    originals = sum(photo.parent != split_folder(config["prepared_dir"], "val") for photo in photos)
    sizes = [int(config["image_size"] * factor) for factor in config["working_size_factors"]]
    chosen, table = calibration.calibrate_strength(generator, photos, margin_db=config["strength_margin_db"],
                                                   margin_ciede=config["strength_margin_ciede"], working_sizes=sizes)
    runs.write_gain(folder, chosen["gain"], working_size=chosen["working_size"],
                        rule=calibration.__doc__.split("\n\n")[2].replace("\n", " "), photos=len(photos),
                        originals=originals, table=table)
    if verbose:
        print(f"[colorgan] color strength calibrated on {len(photos)} validation photos ({originals} at their "
              f"original size): gain {chosen['gain']} at working size {chosen['working_size']}", flush=True)
        print(f"[colorgan] {folder.name}: {calibration.verdict(chosen, len(photos))}", flush=True)
    return chosen["gain"]


def train(config=None, datasets=None, verbose=1, cluster="auto", **overrides):
    """Train (or resume) the run described by ``config``; returns a dict of the run's outcome.

    Args:
        config: parameters (see DEFAULTS), e.g. a notebook's parameters or a params/*.yaml profile.
        datasets: optional (train, val) tf.data datasets of (L, ab); default: ``make_datasets(config)``.
        verbose: 0: silent; 1: one line per epoch (``colorgan.progress``), and Keras' progress bar within
            each epoch when stdout is a terminal; 2: the bar always.
        cluster: ``auto`` (the cluster TF_CONFIG describes, else this machine) or ``slurm`` (the tasks of
            this Slurm job step); see ``colorgan.distribute``. On a cluster every worker calls ``train``
            with the same parameters; ``batch_size`` is the global batch.
    Returns:
        {"run_dir", "config", "history" (this call's Keras history), "initial_epoch", "epoch", "step",
        "model", "chief" (False on the workers that write nothing)}.
    Raises:
        TrainingDiverged: a loss became NaN/inf; the last good checkpoint is left in place.
    """
    config = resolve_config(config, **overrides)
    strategy = distribute.strategy(cluster)  # first: a cluster's collective ops are set up before any TF op
    if distribute.is_multi_worker(strategy):
        distribute.check_cluster_config(strategy, config["batch_size"], config["xla"])
    folder = run_dir(config)
    resuming = (folder / runs.CHECKPOINT_PATH).is_file()
    if resuming:
        _check_same_architecture(folder, config)
    chief = distribute.is_chief(strategy)
    if chief:
        folder.mkdir(parents=True, exist_ok=True)
        runs.write_config(folder, config)
    if not distribute.is_multi_worker(strategy):  # workers would each time their own: they keep the static rule
        config = {**config, "precision": _measured_precision(config, folder, chief, verbose)}
    with distribute.write_folder(folder, strategy) as output:
        outcome = _fit(config, strategy, folder, output, resuming, datasets, verbose)
    if chief and config["calibrate"] and outcome["epoch"] >= config["epochs"] and \
            (folder / runs.GENERATOR_NAME).is_file():
        calibrate(folder, config, verbose)
    return {"run_dir": folder, "config": config, "chief": chief, **outcome}


def _measured_precision(config, folder, chief, verbose):
    """``auto`` on a CPU with bfloat16 kernels: float32 or bfloat16, whichever trains this network faster, timed
    on a few steps at the run's image and batch size, once per run (kept in the run folder: a resumed run computes
    as it started). Any other setting: ``precision.resolve``'s rule."""
    if not precision.worth_measuring(config["precision"]):
        return config["precision"]
    path = folder / runs.PRECISION_NAME
    if path.is_file():
        return json.loads(path.read_text())["precision"]
    rng = np.random.default_rng(0)
    size, count = int(config["image_size"]), int(config["batch_size"])
    batch = (rng.uniform(-1, 1, (count, size, size, 1)).astype("float32"),
             rng.uniform(-0.5, 0.5, (count, size, size, 2)).astype("float32"))

    def build(name):
        model = build_pix2pix({**config, "precision": name, "ema_decay": 0.0})
        model.set_epoch(0)  # the first phase's step (encoder frozen, if it starts frozen)
        return model

    seconds, chosen = precision.fastest({name: functools.partial(build, name) for name in ("float32", "bfloat16")},
                                        batch)
    if chief:
        path.write_text(json.dumps({"precision": chosen, "seconds_per_step": seconds}, indent=1) + "\n")
    if verbose:
        timed = ", ".join(f"{name} {value:.3f} s" for name, value in seconds.items())
        print(f"[colorgan] precision auto: {chosen} (one training step: {timed})", flush=True)
    return chosen


def _fit(config, strategy, folder, output, resuming, datasets, verbose):
    """Build (or restore) the model under ``strategy`` and ``fit`` it; run files go to ``output``
    (the run folder, or a worker's temporary one), the checkpoint is restored from ``folder``."""
    chief = output == folder
    keras.utils.set_random_seed(int(config["seed"]))  # python, numpy and TF random sources
    train_data, val_data = datasets if datasets is not None else make_datasets(config)
    class_weights = class_weights_for(config, folder, train_data, save=chief)
    with strategy.scope():
        model = build_pix2pix(config, class_weights)
    export_copy = build_generator(config, dtype="float32", pretrained=False)

    state_path = folder / runs.CHECKPOINT_PATH
    meta = checkpoint.restore_checkpoint(state_path, model) if resuming else {"epoch": 0, "step": 0, "best": None}
    if config["init_from"] and not resuming:
        start_from(model, config["init_from"])
    initial_epoch = meta["epoch"]
    if chief:  # epochs logged after the checkpoint are trained again: their rows go, so none repeats
        runs.trim_history(folder, initial_epoch)
    fit_train, fit_val = train_data, val_data
    if distribute.is_multi_worker(strategy):
        distribute.check_agreement(strategy, resuming=resuming, epoch=initial_epoch, step=meta["step"],
                                   parameters=_fingerprint(config))
        # Whole batches for fit (the color monitor and the grids keep every validation photo).
        whole = make_datasets(config, drop_remainder=True) if datasets is None else \
            [data.rebatch(config["batch_size"], drop_remainder=True) for data in datasets]
        fit_train, fit_val = (distribute.for_workers(data) for data in whole)
        if fit_val.cardinality() == 0:
            raise ValueError(f"the validation split holds fewer photos than one global batch ({config['batch_size']}); "
                             "on a cluster validation takes whole batches")
        distribute.fit_on_workers(model)
    if verbose:
        if distribute.is_multi_worker(strategy):
            role = "the chief: writes the run folder" if chief else "writes nothing to the run folder"
            print(f"[colorgan] {distribute.worker_name(strategy)} of a cluster of {strategy.num_replicas_in_sync} "
                  f"replicas, {role}", flush=True)
        if resuming:
            print(f"[colorgan] resuming {folder.name} after epoch {initial_epoch} (step {meta['step']})", flush=True)
        print(f"[colorgan] {config['objective']} objective, {precision.resolve(config['precision'])} compute",
              flush=True)

    guard = callbacks.NanGuard()
    # Only the last phase competes for generator.keras: the generator-only warm-up and the critic's
    # pre-training are preparation when an adversarial phase follows (every epoch competes otherwise).
    last_phase_from = config["warmup_epochs"] + config["critic_epochs"]
    last_phase_from = last_phase_from if last_phase_from < config["epochs"] else 0
    export = callbacks.GeneratorExport(output, export_copy, guard, best=meta["best"], first_epoch=last_phase_from,
                                       min_ratio=config["min_colorfulness_ratio"])
    saver = callbacks.Checkpoint(output / runs.CHECKPOINT_PATH, config["checkpoint_every"], config["epochs"], guard,
                                 export)
    # Every worker runs every callback (same order, same collectives); only the chief's output is the run folder.
    run_callbacks = [
        callbacks.PhaseSwitch(), guard, callbacks.EpochClock(output / runs.HISTORY_NAME),
        callbacks.LinearDecay(config["epochs"], config["decay_epochs"], config["generator_learning_rate"],
                              config["discriminator_learning_rate"]),
        callbacks.ColorMonitor(export_copy, *_validation_arrays(val_data), guard), export,
        callbacks.SampleGrid(output / runs.SAMPLES_DIR, *_sample_batch(val_data, config["sample_count"]),
                             every=config["sample_every"], guard=guard, last_epoch=config["epochs"]),
        saver,
        keras.callbacks.CSVLogger(str(output / runs.HISTORY_NAME), append=True),
        keras.callbacks.TensorBoard(log_dir=str(output / runs.LOGS_DIR), write_graph=False),
    ] + ([progress.EpochLine(config["epochs"])] if verbose and chief else [])  # last: its time is the whole epoch's
    bar = verbose >= 2 or (verbose == 1 and sys.stdout.isatty())
    history = {}
    if initial_epoch < config["epochs"]:
        with distribute.stop_when_a_worker_is_lost(strategy, state_path):
            history = model.fit(fit_train, validation_data=fit_val, epochs=config["epochs"],
                                initial_epoch=initial_epoch, steps_per_epoch=config["steps_per_epoch"],
                                validation_steps=config["validation_steps"], callbacks=run_callbacks,
                                shuffle=False, verbose=int(bar)).history  # the tf.data pipeline shuffles
    if guard.tripped:
        kept = saver.saved_epoch or (initial_epoch if resuming else None)
        where = f"the last good checkpoint (epoch {kept}) is kept in {state_path}" if kept else \
            "no checkpoint was written before it"
        raise TrainingDiverged(f"training stopped: {guard.message}; {where}. Lower the learning rates or "
                               "check the data for broken images.")
    return {"history": history, "initial_epoch": initial_epoch, "epoch": max(initial_epoch, saver.saved_epoch or 0),
            "step": int(model.generator_optimizer.iterations.numpy()), "model": model}


def read_history(folder):
    """``history.csv`` of a run (every epoch, across restarts) as {column: float array}."""
    return runs.read_history(folder)
