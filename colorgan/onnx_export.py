"""A saved Keras generator (.keras) -> an ONNX graph, read straight from the file: no Keras, no TensorFlow.

A ``.keras`` file is a zip of ``config.json`` (the functional graph: layers in topological order, each
naming its inputs) and ``model.weights.h5`` (each layer's variables under ``layers/<snake_case class
name>[_<n>]/vars/<i>``, numbered in layer order). Reading both directly means a user's first
``colorgan colorize`` pays neither TensorFlow's start-up nor Keras'. The graph keeps Keras' layout
at its ends (L (B, H, W, 1) in, ab (B, H, W, 2) out) and runs channels-first inside, as ONNX Runtime
prefers. Standard image layers are converted (the U-Net's, and an EfficientNet-style encoder's:
depthwise convolutions, ReLU6, ZeroPadding, Add); any other raises ExportError naming the layer, and
``engines`` then falls back to Keras.
"""

import json
import re
import zipfile

import numpy as np

VERSION = 1  # part of the cache key (engines.onnx_bytes): bump when the conversion changes
OPSET = 17
IR_VERSION = 8  # what ONNX Runtime releases of the last years all read
# Keras' channels-last axis -> the same axis channels-first (rank 4).
_AXIS_NCHW = {0: 0, 1: 2, 2: 3, 3: 1}
INPUT_NAME, OUTPUT_NAME = "input__nhwc", "output__nhwc"  # not Keras layer names, which become tensor names
_IDENTITY_LAYERS = {"Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "ActivityRegularization"}
_MERGE_OPS = {"Add": "Add", "Subtract": "Sub", "Multiply": "Mul", "Maximum": "Max", "Minimum": "Min"}
_VARIADIC_OPS = {"Average": "Mean"}  # ONNX takes any number of inputs at once


class ExportError(ValueError):
    """A generator this exporter cannot convert, with the file and the reason in the message."""


def read_keras_file(path):
    """-> (the functional config, {layer name: [float32 arrays in the layer's variable order]})."""
    import h5py  # here, not at the top: a cached conversion (engines.onnx_bytes) needs no HDF5

    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        with archive.open("model.weights.h5") as stored, h5py.File(stored, "r") as weights_file:
            if config.get("class_name") not in ("Functional", "Model") or "layers" not in config.get("config", {}):
                raise ExportError(f"{path}: not a functional Keras model (class {config.get('class_name')!r})")
            layers, weights, used = config["config"]["layers"], {}, {}
            for layer in layers:
                # Keras names each layer's weight group after its class, numbered per class in layer order.
                key = _snake_case(layer["class_name"])
                used[key] = used.get(key, -1) + 1
                group = f"layers/{key}" + (f"_{used[key]}" if used[key] else "") + "/vars"
                variables = weights_file.get(group)
                weights[layer["name"]] = [np.asarray(variables[str(i)], np.float32) for i in range(len(variables))] \
                    if variables is not None else []
    return config["config"], weights


def _snake_case(name):  # keras.src.utils.naming.to_snake_case
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class _Graph:
    """Nodes and constants of the ONNX graph being built; tensor names are the Keras layers' names."""

    def __init__(self):
        from onnx import helper, numpy_helper  # as h5py in read_keras_file: a cached conversion needs no onnx

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.constants = [], []

    def constant(self, name, array):
        self.constants.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op, inputs, output, **attributes):
        self.nodes.append(self.helper.make_node(op, list(inputs), [output], name=output, **attributes))
        return output


def _inputs_of(layer):
    """Names of the layers whose outputs feed ``layer`` (one call of it: shared layers are not supported)."""
    nodes = layer.get("inbound_nodes", [])
    if len(nodes) != 1:
        raise ExportError(f"layer {layer['name']} is called {len(nodes)} times; only layers used once are converted")
    found = []

    def walk(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            history = value["config"]["keras_history"]
            if history[1] != 0 or history[2] != 0:
                raise ExportError(f"layer {layer['name']} reads a shared layer's output")
            found.append(history[0])
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(nodes[0]["args"])
    walk(nodes[0].get("kwargs", {}))
    return found


def _pair(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def _activation(graph, name, x, activation):
    """A Keras activation by name, applied to tensor ``x`` (channels-first)."""
    if activation in (None, "linear"):
        return x
    out = f"{name}__{activation}"
    if activation in ("relu", "tanh", "sigmoid"):
        return graph.node(activation.capitalize(), [x], out)
    if activation == "relu6":
        return graph.node("Clip", [x, graph.constant(f"{out}_min", np.float32(0)),
                                   graph.constant(f"{out}_max", np.float32(6))], out)
    if activation in ("silu", "swish"):
        return graph.node("Mul", [x, graph.node("Sigmoid", [x], f"{out}_sigmoid")], out)
    if activation == "softmax":
        return graph.node("Softmax", [x], out, axis=1)
    raise ExportError(f"activation {activation!r} of layer {name} has no ONNX conversion here")


def _convolution(graph, layer, x, weights):
    config, name, kind = layer["config"], layer["name"], layer["class_name"]
    if config.get("data_format", "channels_last") != "channels_last":
        raise ExportError(f"layer {name}: only channels_last convolutions are converted")
    kernel, *bias = weights
    kernel_size, strides = _pair(config["kernel_size"]), _pair(config["strides"])
    dilation = _pair(config.get("dilation_rate", 1))
    attributes = {"kernel_shape": list(kernel_size), "strides": list(strides), "dilations": list(dilation)}
    if kind == "Conv2DTranspose":
        # Keras (kh, kw, out, in) -> ONNX (in, out, kh, kw). "same" crops what a stride-s convolution with
        # "same" padding would have added (total k - s, the smaller half first), so the output is s x the input.
        weight = kernel.transpose(3, 2, 0, 1)
        if config["padding"] == "same":
            total = max((kernel_size[0] - 1) * dilation[0] + 1 - strides[0], 0), \
                max((kernel_size[1] - 1) * dilation[1] + 1 - strides[1], 0)
            attributes["pads"] = [total[0] // 2, total[1] // 2, total[0] - total[0] // 2, total[1] - total[1] // 2]
        if config.get("output_padding") is not None:
            raise ExportError(f"layer {name}: Conv2DTranspose with output_padding is not converted")
        op = "ConvTranspose"
    else:
        if kind == "DepthwiseConv2D":  # (kh, kw, in, multiplier) -> (in * multiplier, 1, kh, kw), one group per input
            channels = kernel.shape[2]
            weight = kernel.reshape(*kernel.shape[:2], 1, -1).transpose(3, 2, 0, 1)
            attributes["group"] = channels
        else:  # (kh, kw, in / groups, out) -> (out, in / groups, kh, kw)
            weight = kernel.transpose(3, 2, 0, 1)
            attributes["group"] = int(config.get("groups", 1))
        # TensorFlow's "same" puts the odd pixel of padding at the end, as SAME_UPPER does.
        if config["padding"] == "same":
            attributes["auto_pad"] = "SAME_UPPER"
        op = "Conv"
    inputs = [x, graph.constant(f"{name}__weight", weight)]
    if bias:
        inputs.append(graph.constant(f"{name}__bias", bias[0]))
    out = graph.node(op, inputs, name if config.get("activation", "linear") == "linear" else f"{name}__linear",
                     **attributes)
    return _activation(graph, name, out, config.get("activation", "linear"))


def _batch_norm(graph, layer, x, weights):
    config, name = layer["config"], layer["name"]
    if config.get("axis", -1) not in (-1, 3, [3], [-1]):
        raise ExportError(f"layer {name}: BatchNormalization over axis {config.get('axis')} is not converted")
    weights = list(weights)
    gamma = weights.pop(0) if config.get("scale", True) else None
    beta = weights.pop(0) if config.get("center", True) else None
    mean, variance = weights
    scale = (gamma if gamma is not None else 1.0) / np.sqrt(variance + np.float32(config.get("epsilon", 1e-3)))
    shift = (beta if beta is not None else 0.0) - mean * scale
    # Inference BatchNorm is one multiply-add per channel; ONNX Runtime folds it into the convolution before it.
    shape = (1, -1, 1, 1)
    scaled = graph.node("Mul", [x, graph.constant(f"{name}__scale", scale.astype(np.float32).reshape(shape))],
                        f"{name}__scaled")
    return graph.node("Add", [scaled, graph.constant(f"{name}__shift", shift.astype(np.float32).reshape(shape))], name)


def _relu(graph, layer, x):
    config, name = layer["config"], layer["name"]
    if config.get("negative_slope", 0.0) or config.get("threshold", 0.0):
        raise ExportError(f"layer {name}: ReLU with a negative slope or threshold is not converted")
    if config.get("max_value") is None:
        return graph.node("Relu", [x], name)
    return graph.node("Clip", [x, graph.constant(f"{name}__min", np.float32(0)),
                               graph.constant(f"{name}__max", np.float32(config["max_value"]))], name)


def _layer(graph, layer, inputs, weights):
    """Emit the nodes of one Keras layer; returns the name of its output tensor."""
    kind, config, name = layer["class_name"], layer["config"], layer["name"]
    x = inputs[0] if inputs else None
    if kind in ("Conv2D", "DepthwiseConv2D", "Conv2DTranspose"):
        return _convolution(graph, layer, x, weights)
    if kind == "BatchNormalization":
        return _batch_norm(graph, layer, x, weights)
    if kind == "ReLU":
        return _relu(graph, layer, x)
    if kind == "LeakyReLU":
        slope = config.get("negative_slope", config.get("alpha", 0.3))
        return graph.node("LeakyRelu", [x], name, alpha=float(slope))
    if kind == "Activation":
        return graph.node("Identity", [_activation(graph, name, x, config["activation"])], name)
    if kind in _IDENTITY_LAYERS:
        return graph.node("Identity", [x], name)
    if kind == "Concatenate":
        return graph.node("Concat", inputs, name, axis=_AXIS_NCHW[config.get("axis", -1) % 4])
    if kind in _VARIADIC_OPS:
        return graph.node(_VARIADIC_OPS[kind], inputs, name)
    if kind in _MERGE_OPS:
        out = inputs[0]
        for i, other in enumerate(inputs[1:]):
            out = graph.node(_MERGE_OPS[kind], [out, other], name if i == len(inputs) - 2 else f"{name}__{i}")
        return out
    if kind == "ZeroPadding2D":
        (top, bottom), (left, right) = (_pair(side) for side in _pair(config["padding"]))
        pads = graph.constant(f"{name}__pads", np.array([0, 0, top, left, 0, 0, bottom, right], np.int64))
        return graph.node("Pad", [x, pads], name)
    if kind == "Rescaling":
        scaled = graph.node("Mul", [x, graph.constant(f"{name}__scale", _per_channel(config["scale"]))],
                            f"{name}__scaled")
        return graph.node("Add", [scaled, graph.constant(f"{name}__offset", _per_channel(config["offset"]))], name)
    if kind == "Softmax":
        if config.get("axis", -1) not in (-1, 3):
            raise ExportError(f"layer {name}: Softmax over axis {config.get('axis')} is not converted")
        return graph.node("Softmax", [x], name, axis=1)
    if kind == "UpSampling2D" and config.get("interpolation", "nearest") in ("nearest", "bilinear"):
        scales = graph.constant(f"{name}__scales", np.array([1, 1, *_pair(config["size"])], np.float32))
        if config.get("interpolation", "nearest") == "bilinear":  # tf.image.resize: half-pixel centres
            return graph.node("Resize", [x, "", scales], name, mode="linear",
                              coordinate_transformation_mode="half_pixel")
        return graph.node("Resize", [x, "", scales], name, mode="nearest", coordinate_transformation_mode="asymmetric",
                          nearest_mode="floor")
    raise ExportError(f"layer {name} ({kind}) has no ONNX conversion here")


def _per_channel(value):
    return np.asarray(value, np.float32).reshape((1, -1, 1, 1) if np.ndim(value) else ())


def _endpoints(value):
    """``input_layers``/``output_layers`` of a config: [name, 0, 0] for one, [[name, 0, 0], ...] for several."""
    return [value[0]] if value and isinstance(value[0], str) else [each[0] for each in value]


def size_multiple(config):
    """Height and width a functional network (its config) accepts are multiples of this: the largest product of
    downsampling strides on any path from its input to its output (a U-Net's 2 ** depth; for two networks
    averaged, ``ensemble``, the larger of theirs). Transposed convolutions upsample and do not count."""
    factor = {}
    for layer in config["layers"]:  # topological order, as Keras writes it
        before = max((factor[name] for name in _inputs_of(layer) if name in factor), default=1) \
            if layer.get("inbound_nodes") else 1
        stride = 1
        if layer["class_name"] in ("Conv2D", "DepthwiseConv2D", "MaxPooling2D", "AveragePooling2D"):
            stride = int(_pair(layer["config"]["strides"])[0])
        factor[layer["name"]] = before * stride
    return max(factor[name] for name in _endpoints(config["output_layers"]))


def to_onnx(path):
    """The generator in ``path`` (.keras) as an ONNX ModelProto; L (B, H, W, 1) float32 in, ab (B, H, W, 2) out.

    Raises:
        ExportError: naming the file and the layer, for a model with layers or wiring not converted here.
    """
    from onnx import TensorProto, checker, helper  # as in _Graph

    config, weights = read_keras_file(path)
    graph = _Graph()
    inputs, outputs = (_endpoints(config[key]) for key in ("input_layers", "output_layers"))
    if len(inputs) != 1 or len(outputs) != 1:
        raise ExportError(f"{path}: a generator has one input and one output, this model has "
                          f"{len(inputs)} and {len(outputs)}")
    input_name, output_name = inputs[0], outputs[0]
    tensors = {}
    try:
        for layer in config["layers"]:
            if layer["class_name"] == "InputLayer":
                if layer["name"] != input_name:
                    raise ExportError(f"input {layer['name']} is not the model's input")
                batch_shape = layer["config"].get("batch_shape") or [None, None, None, 1]
                tensors[layer["name"]] = graph.node("Transpose", [INPUT_NAME], "input__nchw", perm=[0, 3, 1, 2])
                continue
            feeding = [tensors[source] for source in _inputs_of(layer)]
            tensors[layer["name"]] = _layer(graph, layer, feeding, weights[layer["name"]])
    except ExportError as error:
        raise ExportError(f"{path}: {error}") from None
    graph.node("Transpose", [tensors[output_name]], OUTPUT_NAME, perm=[0, 2, 3, 1])
    dims = ["batch", "height", "width"]
    shape_in = [dim if dim is not None else dims[i] for i, dim in enumerate(batch_shape[:3])] + [batch_shape[3]]
    onnx_graph = helper.make_graph(
        graph.nodes, config.get("name", "generator"),
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, shape_in)],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", "height", "width", None])],
        initializer=graph.constants)
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="colorgan")
    model.ir_version = IR_VERSION
    model.metadata_props.add(key="size_multiple", value=str(size_multiple(config)))
    checker.check_model(model)
    return model
