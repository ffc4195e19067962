"""The two pix2pix networks (Isola et al., 2017) for colorization in Lab.

- ``build_generator``: U-Net, L (1 channel) -> ab (2 channels, tanh). Encoder C64-C128-C256-C512-...,
  decoder with dropout in its first three blocks and skip connections between mirrored levels.
  Its depth follows the image size (log2: 8 levels at 256, so the bottleneck is 1x1 there).
- ``build_discriminator``: the 70x70 PatchGAN over concat(L, ab): C64-C128-C256-C512 -> one logit
  per 70x70 patch (30x30 logits at 256).

Standard Keras layers only, so ``keras.models.load_model`` reads a saved generator with no custom
objects. Weights start from N(0, 0.02) as in the paper. ``dtype=None`` follows the global dtype
policy (``mixed_float16`` under mixed precision); the last layers are float32 always, so tanh and
the logits never underflow and the losses are computed in float32.
"""

import math

import keras
import numpy as np
from keras import layers

INIT_STDDEV = 0.02  # paper: "weights initialized from a Gaussian distribution with mean 0 and std 0.02"
MAX_FILTER_MULTIPLE = 8  # filters double per level up to 8 x base_filters (512 at base 64)
DROPOUT_BLOCKS = 3
# PyTorch's BatchNorm momentum 0.1 (the paper's code); Keras' default 0.99 makes the moving
# statistics used at inference lag far behind the weights in short runs.
BATCH_NORM_MOMENTUM = 0.9  # paper: dropout 0.5 in the first three decoder blocks (CD512-CD512-CD512)


def _initializer():
    return keras.initializers.RandomNormal(mean=0.0, stddev=INIT_STDDEV)


def unet_depth(image_size):
    """Levels of the U-Net for ``image_size``: log2(image_size), so the bottleneck is 1x1 (8 at 256)."""
    if not isinstance(image_size, int) or image_size < 4 or image_size & (image_size - 1):
        raise ValueError(f"image_size must be a power of two >= 4 (e.g. 32, 64, 128, 256), got {image_size!r}")
    return int(math.log2(image_size))


DOWNSAMPLING_LAYERS = (layers.Conv2D, layers.DepthwiseConv2D, layers.MaxPooling2D, layers.AveragePooling2D)


def _stride(layer):
    """How much ``layer`` shrinks height and width (a nested network: its own size multiple)."""
    if isinstance(layer, keras.Model):
        return size_multiple(layer)
    if isinstance(layer, DOWNSAMPLING_LAYERS):
        strides = layer.strides if isinstance(layer.strides, tuple) else (layer.strides,)
        return int(strides[0])
    return 1


def size_multiple(generator):
    """Height and width fed to ``generator`` must be multiples of this: the largest product of downsampling strides
    on any path from its input to its output (2 ** depth for the paper's U-Net, 32 for the EfficientNet one, the
    larger of the two for both averaged: ``ensemble``); a network without a functional graph: the product of all its
    strides. Read from the live graph, not ``get_config()``, which imports TensorFlow under the torch and JAX
    backends; ``onnx_export.size_multiple`` reads a stored config the same way."""
    outputs = getattr(generator, "outputs", None)
    if outputs:
        factor = {}
        for layer in generator.layers:  # topological order
            parents = [tensor._keras_history[0] for node in layer._inbound_nodes for tensor in node.input_tensors]
            factor[id(layer)] = max((factor.get(id(parent), 1) for parent in parents), default=1) * _stride(layer)
        multiple = max(factor.get(id(output._keras_history[0]), 1) for output in outputs)
    else:
        multiple = int(np.prod([_stride(layer) for layer in generator.layers]))
    if multiple == 1:
        raise ValueError(f"{generator.name!r} has no strided convolutions: not a colorgan generator")
    return multiple


def _replicas_in_sync():
    """Replicas of the current tf.distribute strategy; 1 under other Keras backends, which need no TensorFlow."""
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync


def batch_norm_layer(name, dtype):
    """BatchNorm with PyTorch's momentum; synchronized across replicas under a multi-device strategy,
    so a batch split over N devices is normalized exactly as it would be on one."""
    synchronized = _replicas_in_sync() > 1
    return layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, synchronized=synchronized, name=name,
                                     dtype=dtype)


def _down(x, filters, name, batch_norm=True, use_bias=None, dtype=None):
    """Encoder block: 4x4 conv, stride 2 -> BatchNorm -> LeakyReLU(0.2); halves height and width."""
    use_bias = not batch_norm if use_bias is None else use_bias
    x = layers.Conv2D(filters, 4, strides=2, padding="same", kernel_initializer=_initializer(),
                      use_bias=use_bias, name=f"{name}_conv", dtype=dtype)(x)
    if batch_norm:
        x = batch_norm_layer(f"{name}_norm", dtype)(x)
    return layers.LeakyReLU(0.2, name=f"{name}_relu", dtype=dtype)(x)


def _up(x, skip, filters, name, dropout_rate=0.0, dtype=None):
    """Decoder block: 4x4 transposed conv, stride 2 -> BatchNorm -> Dropout -> ReLU, then concat the skip."""
    x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", kernel_initializer=_initializer(),
                               use_bias=False, name=f"{name}_conv", dtype=dtype)(x)
    x = batch_norm_layer(f"{name}_norm", dtype)(x)
    if dropout_rate:
        # Dropout stays on at test time in the paper (its only noise source); Keras turns it off
        # outside training, which gives deterministic colorizations - what a user wants here.
        x = layers.Dropout(dropout_rate, name=f"{name}_dropout", dtype=dtype)(x)
    x = layers.ReLU(name=f"{name}_relu", dtype=dtype)(x)
    return layers.Concatenate(name=f"{name}_skip", dtype=dtype)([x, skip])


def build_generator(image_size=256, base_filters=64, dropout_rate=0.5, dtype=None, bin_centres=None,
                    temperature=None):
    """The pix2pix U-Net generator: L (B, H, W, 1) in [-1, 1] -> ab (B, H, W, 2) in [-1, 1], float32.

    Args:
        image_size: the training size (power of two); it sets the depth, log2(image_size), so the
            innermost features are 1x1 at that size. The network is fully convolutional: it runs
            on any height and width that are multiples of ``size_multiple(generator)``.
        base_filters: filters of the first level (64 in the paper; ~54.4M parameters at 256).
        dropout_rate: dropout of the first three decoder blocks (0.5 in the paper).
        dtype: layer dtype policy; None follows the global policy (mixed precision).
        bin_centres: None for the paper's regression head (tanh); or (Q, 2) ab bin centres for a
            classification head (Zhang et al., 2016): logits over the bins (layer ``ab_logits``),
            decoded inside the model by the annealed mean at ``temperature``, so the saved file is
            still a plain L -> ab generator of standard layers.
    """
    depth = unet_depth(image_size)
    if base_filters < 1:
        raise ValueError(f"base_filters must be >= 1, got {base_filters}")
    filters = [base_filters * min(2**level, MAX_FILTER_MULTIPLE) for level in range(depth)]

    inputs = keras.Input(shape=(None, None, 1), name="L")
    x = inputs
    skips = []
    for level, level_filters in enumerate(filters):
        # No BatchNorm on the first level (paper) nor on the innermost one: its features are 1x1,
        # and batch statistics over a single pixel of batch size 1 would zero every activation.
        # No conv biases anywhere in the U-Net but its output, as in the paper's code (54.4M at 256).
        batch_norm = 0 < level < depth - 1
        x = _down(x, level_filters, f"down_{level + 1}", batch_norm=batch_norm, use_bias=False, dtype=dtype)
        skips.append(x)  # at 256: (B, 128, 128, 64) ... (B, 1, 1, 512)

    # Decoder: mirror the encoder back up to half the input size, concatenating the encoder's features.
    for block, level in enumerate(range(depth - 2, -1, -1)):
        rate = dropout_rate if block < DROPOUT_BLOCKS else 0.0
        x = _up(x, skips[level], filters[level], f"up_{block + 1}", dropout_rate=rate, dtype=dtype)

    if bin_centres is not None:
        return keras.Model(inputs, classification_head(x, base_filters, bin_centres, temperature, dtype),
                           name="generator")
    # Last upsampling to full size, 2 channels (a, b); tanh matches ab / 110 in [-1, 1]. Float32 always.
    x = layers.Conv2DTranspose(2, 4, strides=2, padding="same", kernel_initializer=_initializer(),
                               name="output_conv", dtype="float32")(x)
    outputs = layers.Activation("tanh", name="ab", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="generator")


def classification_head(x, base_filters, bin_centres, temperature, dtype):
    """Half-size decoder features -> logits over Q ab bins -> annealed mean ab -> bilinear x2 to full size.

    As in Zhang et al. (whose network predicts at a quarter of the input size), the distribution is
    predicted below full resolution: chroma is smooth, and the per-pixel softmax over ~265 bins is
    the costly part. softmax(logits / T) is a Rescaling and a Softmax; the expectation of the bin
    centres is a 1x1 convolution whose fixed (non-trainable) kernel holds the centres; standard
    layers only, float32 from the logits on.
    """
    centres = np.asarray(bin_centres, np.float32).reshape(-1, 2)
    if temperature is None or not temperature > 0:
        raise ValueError(f"a classification head needs a decoding temperature > 0, got {temperature!r}")
    logits = layers.Conv2D(len(centres), 1, kernel_initializer=_initializer(), name="ab_logits",
                           dtype="float32")(x)  # (B, H/2, W/2, Q)
    x = layers.Rescaling(1.0 / float(temperature), name="ab_annealed", dtype="float32")(logits)
    x = layers.Softmax(name="ab_probabilities", dtype="float32")(x)
    decode = layers.Conv2D(2, 1, use_bias=False, trainable=False, name="ab_expected", dtype="float32",
                           kernel_initializer=keras.initializers.Constant(centres[None, None]))
    x = decode(x)  # (B, H/2, W/2, 2): a convex combination of centres, in [-1, 1]
    return layers.UpSampling2D(2, interpolation="bilinear", name="ab", dtype="float32")(x)


def bin_centres(generator):
    """The (Q, 2) ab bin centres of a classification generator, or None for a regression one."""
    names = {layer.name for layer in generator.layers}
    if "ab_expected" not in names:
        return None
    return np.asarray(generator.get_layer("ab_expected").kernel.numpy()).reshape(-1, 2)


def build_discriminator(base_filters=64, dtype=None):
    """The 70x70 PatchGAN: (L (B, H, W, 1), ab (B, H, W, 2)) -> logits (B, H/8 - 2, W/8 - 2, 1), float32.

    Each logit says "real" or "fake" for one 70x70 patch of the input, so the discriminator judges
    local color texture and leaves global structure to the L1 term (paper, section 3.2.2).
    Layers as in the paper's C64-C128-C256-C512 (no BatchNorm on C64), then a 1-channel conv.
    """
    if base_filters < 1:
        raise ValueError(f"base_filters must be >= 1, got {base_filters}")
    lightness = keras.Input(shape=(None, None, 1), name="L")
    ab = keras.Input(shape=(None, None, 2), name="ab")
    x = layers.Concatenate(name="L_ab", dtype=dtype)([lightness, ab])  # (B, 256, 256, 3)

    x = _down(x, base_filters, "down_1", batch_norm=False, dtype=dtype)  # (B, 128, 128, 64)
    x = _down(x, base_filters * 2, "down_2", dtype=dtype)  # (B, 64, 64, 128)
    x = _down(x, base_filters * 4, "down_3", dtype=dtype)  # (B, 32, 32, 256)

    # Two stride-1 4x4 convs with 1 pixel of padding each, as in the paper's code: 32 -> 31 -> 30.
    x = layers.ZeroPadding2D(1, name="pad_4", dtype=dtype)(x)  # (B, 34, 34, 256)
    x = layers.Conv2D(base_filters * 8, 4, strides=1, kernel_initializer=_initializer(), use_bias=False,
                      name="conv_4", dtype=dtype)(x)  # (B, 31, 31, 512)
    x = batch_norm_layer("conv_4_norm", dtype)(x)
    x = layers.LeakyReLU(0.2, name="conv_4_relu", dtype=dtype)(x)
    x = layers.ZeroPadding2D(1, name="pad_5", dtype=dtype)(x)  # (B, 33, 33, 512)
    logits = layers.Conv2D(1, 4, strides=1, kernel_initializer=_initializer(), name="logits",
                           dtype="float32")(x)  # (B, 30, 30, 1)
    return keras.Model([lightness, ab], logits, name="discriminator")


def receptive_field(discriminator):
    """Input pixels seen by one output logit of a plain conv stack (70 for the 70x70 PatchGAN).

    Walks the convolutions from the output back: r <- r * stride + (kernel - stride).
    """
    field = 1
    convolutions = [layer for layer in discriminator.layers if isinstance(layer, layers.Conv2D)]
    for layer in reversed(convolutions):
        kernel, stride = layer.kernel_size[0], layer.strides[0]
        field = field * stride + (kernel - stride)
    return field
