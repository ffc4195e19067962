"""A training run: resolve the config, build or resume, ``fit``; it leaves the run folder (``colorgan.runs``).

Starting a run whose folder already holds a checkpoint resumes from it (same architecture required).
Training stops at ``fit``: the stages after it are ``colorgan.selection`` (which epoch ``generator.keras``
is) and ``colorgan.calibration`` (its color strength), run by ``colorgan train`` and notebook 03.
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
    callbacks,
    checkpoint,
    distribute,
    encoder_unet,
    ensemble,
    gan,
    modelfile,
    models,
    objectives,
    precision,
    progress,
    runs,
    selection,
)
from colorgan.config import check_same_architecture, resolve_config
from colorgan.data.pipeline import make_dataset
from colorgan.paths import resolve

MONITOR_CROPS = 512  # the color monitor scores up to this many validation crops every epoch


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def _fingerprint(config):
    """A number that differs when the recipe differs (paths may differ between workers' machines)."""
    recipe = {name: value for name, value in config.items() if name not in ("models_dir", "prepared_dir",
                                                                            "extra_train_dirs", "extra_val_dirs")}
    return zlib.crc32(json.dumps(recipe, sort_keys=True, default=str).encode())


def build_generator(config, dtype=None, pretrained=None):
    """The config's generator: the paper's tanh U-Net, the EfficientNet-Lite0 one (each with a tanh head or a
    classification head over ab bins), or both averaged in one network (``ensemble.merge``, tanh heads).
    ``pretrained``: override the config's (False for a copy whose weights are set from elsewhere, which need not
    read ImageNet's)."""
    classification = config["objective"] == "classification"
    head = {"bin_centres": objectives.gamut_bins() if classification else None,
            "temperature": config["decode_temperature"] if classification else None}
    pretrained = bool(config["pretrained"] if pretrained is None else pretrained)
    if config["encoder"] == "efficientnet_lite0":
        return encoder_unet.build_generator(pretrained=pretrained, dtype=dtype, **head)
    unet = models.build_generator(config["image_size"], config["base_filters"], config["dropout_rate"], dtype=dtype,
                                  **head)
    if config["encoder"] == "both":  # the layout ``colorgan average`` writes: the U-Net's layers first
        return ensemble.merge([unet, encoder_unet.build_generator(pretrained=pretrained, dtype=dtype)])
    return unet


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
    frozen_layers = encoder_unet.encoder_layers(generator)
    if config["frozen_batch_norm"]:
        # Keras' fine-tuning advice: BatchNorm not trainable runs in inference mode, so its ImageNet statistics
        # are not replaced by those of 16 gray crops when the encoder's weights start to learn.
        for layer in frozen_layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
        frozen_layers = [layer for layer in frozen_layers if not isinstance(layer, keras.layers.BatchNormalization)]
    model = gan.Pix2Pix(generator, discriminator, l1_weight=config["l1_weight"],
                        label_smoothing=config["label_smoothing"], warmup_epochs=config["warmup_epochs"],
                        critic_epochs=config["critic_epochs"], objective=config["objective"],
                        class_weights=class_weights, adversarial_weight=config["adversarial_weight"],
                        ema_decay=config["ema_decay"], frozen_epochs=config["frozen_epochs"],
                        frozen_layers=frozen_layers)
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
    train = make_dataset(config["prepared_dir"], "train", config["image_size"], config["batch_size"],
                         cache=config["cache"], seed=config["seed"], extra_dirs=config["extra_train_dirs"],
                         max_zoom=config["max_zoom"], drop_remainder=drop_remainder)
    if config["steps_per_epoch"]:
        train = train.repeat()  # an epoch is then steps_per_epoch batches, whatever the split's size
    val = make_dataset(config["prepared_dir"], "val", config["image_size"], config["batch_size"],
                       extra_dirs=config["extra_val_dirs"], training=False, cache=config["cache"], shuffle=False, drop_remainder=drop_remainder)
    return train, val


def start_from(model, path):
    """Fine-tuning: the generator (and its moving average) starts from a saved generator's weights."""
    path = resolve(path)
    if not path.is_file():
        raise ValueError(f"init_from: no generator file {path}")
    source = modelfile.load_keras(path)  # a file that holds code is refused before Keras runs any of it
    try:  # float32 whatever the file stores (the shipped generator keeps float16 weights)
        model.generator.set_weights([np.asarray(weight, "float32") for weight in source.get_weights()])
    except ValueError as error:
        raise ValueError(f"{path}: this generator does not fit the run's architecture (image_size, base_filters, "
                         f"objective): {error}") from None
    for average, value in zip(model.ema_weights, model.generator.get_weights(), strict=False):
        average.assign(value)


def _validation_arrays(val, limit):
    """The first ``limit`` validation crops as numpy (L, ab): the same ones every epoch of a run."""
    lightness, ab = next(iter(val.unbatch().batch(limit).take(1)))
    return lightness.numpy(), ab.numpy()


def train(config=None, datasets=None, verbose=1, cluster="auto", **overrides):
    """Train (or resume) the run described by ``config``; returns a dict of the run's outcome.

    Args:
        config: parameters (``colorgan.config``), e.g. a notebook's parameters or a params/*.yaml profile.
        datasets: optional (train, val) tf.data datasets of (L, ab); default: ``make_datasets(config)``.
        verbose: 0: silent; 1: one line per epoch (``colorgan.progress``), and Keras' progress bar within
            each epoch when stdout is a terminal; 2: the bar always.
        cluster: ``auto`` (the cluster TF_CONFIG describes, else this machine) or ``slurm`` (the tasks of
            this Slurm job step); see ``colorgan.distribute``. On a cluster every worker calls ``train``
            with the same parameters; ``batch_size`` is the global batch.
    Returns:
        {"run_dir", "config", "history" (this call's Keras history), "initial_epoch", "epoch", "step",
        "model", "chief" (False on the workers that write nothing), "finished" (the last epoch is done)}.
    Raises:
        TrainingDiverged: a loss became NaN/inf; the last good checkpoint is left in place.
    """
    config = resolve_config(config, **overrides)
    strategy = distribute.strategy(cluster)  # first: a cluster's collective ops are set up before any TF op
    if distribute.is_multi_worker(strategy):
        distribute.check_cluster_config(strategy, config["batch_size"], config["xla"])
    folder = runs.run_dir(config)
    resuming = (folder / runs.CHECKPOINT_PATH).is_file()
    if resuming:
        check_same_architecture(folder, config)
    chief = distribute.is_chief(strategy)
    if chief:
        folder.mkdir(parents=True, exist_ok=True)
        runs.write_config(folder, config)
    if not distribute.is_multi_worker(strategy):  # workers would each time their own: they keep the static rule
        config = {**config, "precision": _measured_precision(config, folder, chief, verbose)}
    with distribute.write_folder(folder, strategy) as output:
        outcome = _fit(config, strategy, folder, output, resuming, datasets, verbose)
    return {"run_dir": folder, "config": config, "chief": chief, "finished": outcome["epoch"] >= config["epochs"],
            **outcome}


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
    export = callbacks.GeneratorExport(output, export_copy, guard, best=meta["best"],
                                       first_epoch=selection.first_competing_epoch(config),
                                       min_ratio=config["min_colorfulness_ratio"])
    saver = callbacks.Checkpoint(output / runs.CHECKPOINT_PATH, config["checkpoint_every"], config["epochs"], guard,
                                 export)
    # Every worker runs every callback (same order, same collectives); only the chief's output is the run folder.
    run_callbacks = [
        callbacks.PhaseSwitch(), guard, callbacks.EpochClock(output / runs.HISTORY_NAME),
        callbacks.LinearDecay(config["epochs"], config["decay_epochs"], config["generator_learning_rate"],
                              config["discriminator_learning_rate"],
                              finetune_epoch=config["frozen_epochs"] if config["encoder"] != "none" else None,
                              finetune_factor=config["finetune_lr_factor"]),
        callbacks.ColorMonitor(export_copy, *_validation_arrays(val_data, MONITOR_CROPS), guard), export,
        callbacks.SampleGrid(output / runs.SAMPLES_DIR, *_validation_arrays(val_data, config["sample_count"]),
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

