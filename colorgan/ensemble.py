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

