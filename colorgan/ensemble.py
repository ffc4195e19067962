"""Two generators as one: the average of their ab, in one flat Keras graph.

The paper's U-Net trained from scratch keeps its colors close to the truth but paints a sepia average; the
ImageNet-encoder U-Net (``encoder_unet``) knows grass from a sweater but paints its guesses boldly, wrong ones
too. Averaging their ab keeps what both agree on and halves what only one of them paints, so at the same
colorfulness (the calibrated gain scales the average back up) it is closer to the truth than either (README,
issue 17: v0.3). ``merge`` joins the networks' layers into one functional model (one input L, a Keras
``Average`` named ``ab`` at the end), not a model of nested models: the file loads with plain
``keras.models.load_model``, ``onnx_export`` reads it like any generator, and ``training`` fine-tunes it
(``encoder: both``, the EfficientNet layers keep their names, so its frozen phase finds them).
"""

import copy

import keras
import numpy as np

INPUT_NAME = "L"
OUTPUT_NAME = "ab"


def _rename_history(node, renames):
    """Every ``keras_history`` in a functional config's inbound nodes, its layer renamed (in place)."""
    if isinstance(node, dict):
        if node.get("class_name") == "__keras_tensor__" and "keras_history" in node.get("config", {}):
            history = list(node["config"]["keras_history"])  # a tuple in a live model's config
            node["config"]["keras_history"] = [renames.get(history[0], history[0]), *history[1:]]
        for value in node.values():
            _rename_history(value, renames)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _rename_history(value, renames)


def _renames(generators, prefixes):
    """{member index: {old layer name: new}}: the input becomes the one shared ``L``; names that two members
    share, and the output name the average takes, get the member's prefix."""
    counts = {}
    for generator in generators:
        for layer in generator.layers[1:]:
            counts[layer.name] = counts.get(layer.name, 0) + 1
    taken = {name for name, count in counts.items() if count > 1} | {INPUT_NAME, OUTPUT_NAME}
    renames = []
    for generator, prefix in zip(generators, prefixes, strict=True):
        inputs = [layer.name for layer in generator.layers if isinstance(layer, keras.layers.InputLayer)]
        if len(inputs) != 1 or len(generator.outputs) != 1:
            raise ValueError(f"{generator.name!r}: a generator has one input (L) and one output (ab)")
        names = {inputs[0]: INPUT_NAME}
        names.update({layer.name: f"{prefix}{layer.name}" for layer in generator.layers[1:] if layer.name in taken})
        renames.append(names)
    return renames


def merge(generators, prefixes=("unet_", "encoder_"), name="generator"):
    """Generators (each L (B, H, W, 1) -> ab (B, H, W, 2)) -> one flat model whose ab is their average,
    with their weights. H and W must suit every member (the largest size multiple)."""
    generators = list(generators)
    if len(generators) < 2:
        raise ValueError(f"merge averages two or more generators, got {len(generators)}")
    prefixes = tuple(prefixes)[:len(generators)]
    if len(prefixes) < len(generators) or len(set(prefixes)) < len(prefixes):
        raise ValueError(f"one distinct prefix per generator, got {prefixes}")
    renames = _renames(generators, prefixes)
    layers, outputs, sources = [], [], {}
    for index, (generator, names) in enumerate(zip(generators, renames, strict=True)):
        config = copy.deepcopy(generator.get_config())
        for layer in config["layers"]:
            if layer["class_name"] == "InputLayer":
                if index == 0:
                    layer["name"] = layer["config"]["name"] = INPUT_NAME
                    layers.append(layer)
                continue
            old = layer["name"]
            layer["name"] = layer["config"]["name"] = names.get(old, old)
            _rename_history(layer["inbound_nodes"], names)
            sources[layer["name"]] = generator.get_layer(old)
            layers.append(layer)
        ends = config["output_layers"]
        [(out_name, node, tensor)] = [ends] if isinstance(ends[0], str) else ends  # one output: [name, 0, 0]
        outputs.append([names.get(out_name, out_name), node, tensor])
    both = keras.Model.from_config({"name": f"{name}_members", "trainable": True, "layers": layers,
                                    "input_layers": [INPUT_NAME, 0, 0], "output_layers": outputs})
    for layer in both.layers[1:]:
        layer.set_weights(sources[layer.name].get_weights())
    average = keras.layers.Average(name=OUTPUT_NAME, dtype="float32")(both.outputs)
    return keras.Model(both.input, average, name=name)


def average_ab(generators, lightness):
    """The members' ab averaged, computed member by member (what ``merge``'s model must equal)."""
    return np.mean([keras.ops.convert_to_numpy(generator(lightness, training=False)) for generator in generators],
                   axis=0)


# ---- runs: ``colorgan average UNET ENCODER --out models/NAME`` ----

MEMBER_ENCODERS = ("none", "efficientnet_lite0")  # ``encoder: both`` rebuilds the average in this order
# What the average's config.json takes from its members: the U-Net's network, the validation they share.
FROM_UNET = ("image_size", "base_filters", "dropout_rate", "objective")
VALIDATION = ("prepared_dir", "extra_val_dirs")


class AverageError(ValueError):
    """Members that cannot be averaged, or an output folder that is not free, named in the message."""


def _member(path):
    """(generator path, its run's config or {}, its encoder) of a run folder or a generator file."""
    from colorgan import runs
    from colorgan.paths import resolve

    path = resolve(path)
    generator = path / runs.GENERATOR_NAME if path.is_dir() else path
    if not generator.is_file():
        raise AverageError(f"{path}: no generator ({runs.GENERATOR_NAME}) to average")
    config = runs.read_config(generator)
    return generator, config, config.get("encoder", "none")


def _validation(members):
    """Where the members validated (prepared_dir, extra_val_dirs), the same for every member that records it:
    the average is calibrated there, on photos none of them trained on."""
    from colorgan.paths import resolve

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
    from colorgan import calibration, colorizers, models, runs
    from colorgan.config import DEFAULTS
    from colorgan.paths import resolve

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
    if calibrate:
        calibration.calibrate(out_dir, {**DEFAULTS, **{k: v for k, v in config.items() if k in DEFAULTS}},
                              verbose=verbose)
    return out_dir / runs.GENERATOR_NAME

