"""``colorgan average``: a U-Net run and an EfficientNet-encoder run averaged into a run folder of its own.

A stage after training, like selection and calibration: the two networks become one (``ensemble.merge``), its
``config.json`` says ``encoder: both`` (so ``training`` can rebuild it to fine-tune), and its color gain is calibrated
on the validation photos both members share (``calibration``); the members' own gains are not used.
"""

from colorgan import calibration, colorizers, models, runs
from colorgan.config import DEFAULTS
from colorgan.ensemble import merge
from colorgan.paths import resolve

MEMBER_ENCODERS = ("none", "efficientnet_lite0")  # ``encoder: both`` rebuilds the average in this order
# What the average's config.json takes from its members: the U-Net's network, the validation they share.
FROM_UNET = ("image_size", "base_filters", "dropout_rate", "objective")
VALIDATION = ("prepared_dir", "extra_val_dirs")


class AverageError(ValueError):
    """Members that cannot be averaged, or an output folder that is not free, named in the message."""


def _member(path):
    """(generator path, its run's config or {}, its encoder) of a run folder or a generator file."""
    path = resolve(path)
    generator = path / runs.GENERATOR_NAME if path.is_dir() else path
    if not generator.is_file():
        raise AverageError(f"{path}: no generator ({runs.GENERATOR_NAME}) to average")
    config = runs.read_config(generator)
    return generator, config, config.get("encoder", "none")


def _validation(members):
    """Where the members validated (prepared_dir, extra_val_dirs), the same for every member that records it:
    the average is calibrated there, on photos none of them trained on."""
    recorded = {}
    for generator, config, _ in members:
        if "prepared_dir" in config:
            key = (str(resolve(config["prepared_dir"])), tuple(sorted(str(resolve(f)) for f in
                                                                      config.get("extra_val_dirs", []))))
            recorded.setdefault(key, []).append((generator, config))
    if len(recorded) > 1:
        described = "; ".join(f"{[str(g) for g, _ in found]} on {key[0]} + {list(key[1])}"
                              for key, found in recorded.items())
        raise AverageError(f"the members validated on different photos ({described}): a photo one of them "
                           "trained on could be used to calibrate the average; average runs that share "
                           "prepared_dir and extra_val_dirs")
    if not recorded:
        raise AverageError(f"no member records its validation photos (prepared_dir in its run's config.json): "
                           f"{[str(g) for g, _, _ in members]}")
    [(_, config), *_] = next(iter(recorded.values()))
    return {name: config.get(name, []) for name in VALIDATION}


def average(member_paths, out_dir, calibrate=True, working_size_factors=None, margin_db=None, margin_ciede=None,
            verbose=1):
    """Average a U-Net run and an EfficientNet-encoder run into the run folder ``out_dir``: ``generator.keras``
    (``merge``, float32), ``config.json`` (``encoder: both``, the U-Net's network, the members' shared
    validation, the members' paths), then the color gain calibrated on that validation (the members' own gains
    are not used: the average of their raw ab is what is calibrated). Refuses an ``out_dir`` that already holds a
    generator. Returns the path of the generator."""
    members = [_member(path) for path in member_paths]
    encoders = sorted(encoder for _, _, encoder in members)
    if len(members) != 2 or encoders != sorted(MEMBER_ENCODERS):
        raise AverageError(f"colorgan average takes one U-Net (encoder none) and one EfficientNet-encoder run "
                           f"(efficientnet_lite0), got {[(str(g), e) for g, _, e in members]}")
    members.sort(key=lambda member: MEMBER_ENCODERS.index(member[2]))
    (unet_path, unet_config, _), (encoder_path, encoder_config, _) = members
    if unet_config.get("objective", "l1") == "classification" or encoder_config.get("objective") == "classification":
        raise AverageError("a classification generator's ab is not averaged here: both members need a tanh head")
    validation = _validation(members)
    out_dir = resolve(out_dir)
    if (out_dir / runs.GENERATOR_NAME).exists() or (out_dir / runs.CONFIG_NAME).exists():
        raise AverageError(f"{out_dir} already holds a run: choose another --out (nothing there is overwritten)")
    image_size = int(unet_config.get("image_size", DEFAULTS["image_size"]))
    if working_size_factors is None:  # the working sizes either member was calibrated at, as this size's factors
        sizes = sorted({int(config.get("image_size", DEFAULTS["image_size"]) * factor)
                        for _, config, _ in members
                        for factor in config.get("working_size_factors", DEFAULTS["working_size_factors"])})
        working_size_factors = [size / image_size for size in sizes]
    config = {**{name: unet_config.get(name, DEFAULTS[name]) for name in FROM_UNET}, **validation,
              "run_name": out_dir.name, "models_dir": str(out_dir.parent), "encoder": "both",
              "pretrained": False, "members": [str(unet_path), str(encoder_path)],
              "strength_margin_db": DEFAULTS["strength_margin_db"] if margin_db is None else margin_db,
              "strength_margin_ciede": DEFAULTS["strength_margin_ciede"] if margin_ciede is None else margin_ciede,
              "working_size_factors": list(working_size_factors)}
    config["member_configs"] = [unet_config, encoder_config]  # how each was trained, should its folder go
    generators = [colorizers.load_generator(unet_path), colorizers.load_generator(encoder_path)]  # float32
    merged = merge(generators)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs.write_config(out_dir, config)
    merged.save(out_dir / runs.GENERATOR_NAME)
    if verbose:
        print(f"[colorgan] {out_dir / runs.GENERATOR_NAME}: the average of {unet_path} and {encoder_path} "
              f"({len(merged.layers)} layers, size multiple {models.size_multiple(merged)})", flush=True)
    if calibrate:  # reads the config.json just written, as ``colorgan calibrate`` would
        calibration.calibrate(out_dir, verbose=verbose)
    return out_dir / runs.GENERATOR_NAME

