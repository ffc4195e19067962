"""The colorizing U-Net with an ImageNet-pretrained encoder: EfficientNet-Lite0 in, a light decoder out.

A from-scratch U-Net learns from a few thousand photos what colors look like, but not what things
are; an encoder trained to tell 1,000 ImageNet classes apart already knows grass from a sweater.
The encoder (``colorgan.encoder``) sees L as a gray photo and hands the decoder its features at
strides 32, 16, 8, 4 and 2. Each decoder level upsamples by 2, joins the skip of that stride and
mixes them with two 3x3 convolutions; ab is predicted at half the input size and upsampled
bilinearly (chroma is smooth: Zhang et al. predict at a quarter), while the colorized photo keeps its
own full-resolution L. Standard Keras layers only, like ``colorgan.models``' generator.
"""

import keras
from keras import layers

from colorgan import encoder, models

# Decoder filters at strides 16, 8, 4, 2 (the skips there have 112, 40, 24 and 16 channels).
DECODER_FILTERS = (128, 96, 64, 48)
SIZE_MULTIPLE = 32  # five stride-2 stages
ENCODER_PREFIXES = ("stem_", "blocks_")  # layer names of the EfficientNet part (frozen first, see Pix2Pix)


def _conv_block(x, filters, name, dtype):
    for index in (1, 2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal",
                          name=f"{name}_conv{index}", dtype=dtype)(x)
        x = models.batch_norm_layer(f"{name}_norm{index}", dtype)(x)
        x = layers.ReLU(name=f"{name}_relu{index}", dtype=dtype)(x)
    return x


def build_generator(pretrained=True, dtype=None, bin_centres=None, temperature=None):
    """L (B, H, W, 1) in [-1, 1] -> ab (B, H, W, 2) in [-1, 1], float32; H and W multiples of 32.

    Args:
        pretrained: start the encoder from ImageNet's weights (False: the same network from random ones,
            to measure what the weights bring).
        dtype: layer dtype policy (None: the global one); the head is float32 always.
        bin_centres, temperature: a classification head over ab bins, as ``models.build_generator``'s.
    """
    lightness = keras.Input(shape=(None, None, 1), name="L")
    skips = encoder.encoder_features(lightness, dtype=dtype)  # strides 2, 4, 8, 16, 32
    x = skips[-1]  # (B, H/32, W/32, 320)
    for level, (skip, filters) in enumerate(zip(reversed(skips[:-1]), DECODER_FILTERS, strict=True)):
        name = f"decoder_{level + 1}"
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_up", dtype=dtype)(x)
        x = layers.Concatenate(name=f"{name}_skip", dtype=dtype)([x, skip])
        x = _conv_block(x, filters, name, dtype)  # strides 16, 8, 4, 2: (B, H/2, W/2, 48) at the end

    if bin_centres is not None:
        outputs = models.classification_head(x, DECODER_FILTERS[-1], bin_centres, temperature, dtype)
    else:
        # Zero-initialized: the run starts from gray (ab = 0) instead of saturated tanh outputs.
        x = layers.Conv2D(2, 3, padding="same", kernel_initializer="zeros", name="output_conv", dtype="float32")(x)
        x = layers.Activation("tanh", name="ab_half", dtype="float32")(x)  # (B, H/2, W/2, 2)
        outputs = layers.UpSampling2D(2, interpolation="bilinear", name="ab", dtype="float32")(x)
    generator = keras.Model(lightness, outputs, name="generator")
    if pretrained:
        encoder.load_imagenet_weights(generator)
    return generator


def encoder_layers(generator):
    """The EfficientNet layers of a generator (empty for the from-scratch U-Net)."""
    return [layer for layer in generator.layers if layer.name.startswith(ENCODER_PREFIXES)]
