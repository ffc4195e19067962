"""A run's parameters: the defaults, the names that fix the architecture, resolving and reading a config.

Every entry point takes the same names: ``colorgan train -p``, ``make train`` (through notebook 03,
whose parameters cell declares each of ``DEFAULTS``), the profiles in ``params/`` and the recipes in
``params/recipes/``. An unknown name is refused by ``resolve_config`` with the list of known ones.
A run saves its resolved config as ``config.json``; ``read_run_config`` is the one reader of it.

The module is called ``config`` like nanoGPT's; its functions take and return plain dicts, which the
rest of the package calls ``config`` too (so it imports the functions, not the module).
"""

from colorgan import encoder_unet, gan, models, objectives, precision, runs
from colorgan.paths import resolve

# The paper's settings at 256x256 (Isola et al., 2017); notebooks and profiles override them.
DEFAULTS = {
    "run_name": "default",
    "prepared_dir": "data/prepared/default",
    "extra_train_dirs": [],  # more prepared folders to train on (all their photos; never validated on)
    "extra_val_dirs": [],  # more prepared folders to validate and calibrate on (all their photos; never trained on)
    "models_dir": "models",
    "init_from": "",  # a generator .keras file to start from (fine-tuning); "": random weights. Not when resuming.
    "image_size": 256,
    "encoder": "none",  # none: the paper's U-Net; efficientnet_lite0: ImageNet-pretrained encoder (encoder_unet);
    # both: the two averaged in one network (``colorgan average``, colorgan.ensemble; v0.3)
    "pretrained": True,  # efficientnet_lite0: start from ImageNet's weights (False: random, to measure their share)
    "frozen_epochs": 0,  # efficientnet_lite0: the encoder's weights and BatchNorm statistics stay fixed this long
    "frozen_batch_norm": False,  # efficientnet_lite0: its BatchNorm stays in inference mode when fine-tuned too
    "finetune_lr_factor": 1.0,  # the generator's learning rate is multiplied by this once the encoder is unfrozen
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
    "min_colorfulness_ratio": 0.5,  # the selection rule (colorgan.selection): "colorful" is this share of the truth's
    # The color strength (colorgan.calibration): beat gray by this much PSNR and this much CIEDE2000 on the
    # validation photos; 0.5 each is clearly better than leaving the photo gray.
    "strength_margin_db": 0.5,
    "strength_margin_ciede": 0.5,
    "calibrate": True,  # colorgan train and notebook 03 calibrate the color strength after the last epoch
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
ENCODERS = ("none", "efficientnet_lite0", "both")  # both: the two averaged in one network (colorgan.ensemble)


def config_names():
    """Every parameter name a run takes, in ``DEFAULTS``' order."""
    return list(DEFAULTS)


def resolve_config(config=None, **overrides):
    """DEFAULTS updated with ``config`` and ``overrides``, checked; unknown names raise ValueError."""
    resolved = dict(DEFAULTS)
    for source in (config or {}, overrides):
        unknown = sorted(set(source) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown training parameters {unknown}; known: {sorted(DEFAULTS)}")
        resolved.update(source)
    for name, default in DEFAULTS.items():
        resolved[name] = _as_number(name, resolved[name], default)
    if resolved["encoder"] not in ENCODERS:
        raise ValueError(f"encoder must be one of {ENCODERS}, got {resolved['encoder']!r}")
    if resolved["encoder"] in ("none", "both"):
        models.unet_depth(resolved["image_size"])  # raises ValueError for a size the U-Net cannot take
    if resolved["encoder"] != "none" and int(resolved["image_size"]) % encoder_unet.SIZE_MULTIPLE:
        raise ValueError(f"image_size must be a multiple of {encoder_unet.SIZE_MULTIPLE} with the "
                         f"{resolved['encoder']} encoder, got {resolved['image_size']}")
    if not float(resolved["finetune_lr_factor"]) > 0:
        raise ValueError(f"finetune_lr_factor must be > 0, got {resolved['finetune_lr_factor']}")
    if int(resolved["frozen_epochs"]) < 0:
        raise ValueError(f"frozen_epochs must be >= 0, got {resolved['frozen_epochs']}")
    if resolved["precision"] not in precision.PRECISIONS:
        raise ValueError(f"precision must be one of {precision.PRECISIONS}, got {resolved['precision']!r}")
    objectives.check_objective(resolved["objective"])
    if resolved["encoder"] == "both" and resolved["objective"] == "classification":
        raise ValueError("encoder both averages two tanh generators' ab: it takes an objective with a tanh head, "
                         "not classification")
    for name in ("batch_size", "epochs", "base_filters", "sample_every", "checkpoint_every"):
        if int(resolved[name]) < 1:
            raise ValueError(f"{name} must be >= 1, got {resolved[name]}")
    if not 0 <= int(resolved["decay_epochs"]) <= int(resolved["epochs"]):
        raise ValueError(f"decay_epochs must be in [0, epochs={resolved['epochs']}], got {resolved['decay_epochs']}")
    _check_folders_apart(resolved)
    if not str(resolved["run_name"]).strip() or "/" in str(resolved["run_name"]):
        raise ValueError(f"run_name must be a plain folder name, got {resolved['run_name']!r}")
    return resolved


def _check_folders_apart(config):
    """A prepared folder is trained on or validated on, never both: that would score photos the run learned."""
    trained = {str(resolve(folder)) for folder in [*config["extra_train_dirs"], config["prepared_dir"]]}
    both = sorted(str(folder) for folder in config["extra_val_dirs"] if str(resolve(folder)) in trained)
    if both:
        raise ValueError(f"extra_val_dirs {both} are also trained on (prepared_dir or extra_train_dirs): a folder "
                         "validated on must never be trained on; prepare its photos into a folder of their own")


def _as_number(name, value, default):
    """A number given as text where the default is a float: YAML 1.1 reads ``2e-5`` (no dot) as a string."""
    if not isinstance(default, float) or not isinstance(value, str):
        return value
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def read_run_config(path):
    """The saved config.json of a run (folder or a file in it), with today's defaults for names it lacks.

    Names the run saved that training no longer knows are left out: an old run stays readable.
    """
    saved = runs.read_config(path)
    return {**DEFAULTS, **{name: value for name, value in saved.items() if name in DEFAULTS}}


def check_same_architecture(folder, config):
    """Refuse to resume the run in ``folder`` with a config whose ``ARCHITECTURE`` differs from its saved one."""
    saved = runs.read_config(folder)
    changed = {name: (saved.get(name), config[name]) for name in ARCHITECTURE if saved.get(name) != config[name]}
    if changed:
        raise ValueError(f"run {folder} was started with different {changed} (saved, asked); "
                         "pick a new run_name or delete the folder to start over")
