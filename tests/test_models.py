"""The two networks: sizes, parameter counts against the paper's code, dtypes, saving."""

import keras
import numpy as np
import pytest

from colorgan import models

# The paper's code (junyanz/pytorch-CycleGAN-and-pix2pix) prints 54.414 M parameters for unet_256 with
# 3 input and 3 output channels: 54,413,955 exactly (BatchNorm counted as gamma and beta). Colorization
# has 1 input channel (-2 * 64 * 4 * 4 weights) and 2 output channels (-(128 * 4 * 4 + 1)).
PAPER_UNET_256 = 54_413_955 - 2 * 64 * 16 - (128 * 16 + 1)
# Its 70x70 PatchGAN (n_layers=3) on 1 + 2 input channels: "2.765 M".
PAPER_PATCHGAN = 2_765_633


def trainable_count(model):
    return sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)


def test_generator_256_has_the_papers_parameter_count():
    generator = models.build_generator(256, 64)
    assert trainable_count(generator) == PAPER_UNET_256
    assert models.size_multiple(generator) == 256
    # 8 encoder levels at 256: the innermost features are 1x1.
    assert generator.get_layer("down_8_conv").compute_output_shape((1, 2, 2, 512)) == (1, 1, 1, 512)


def test_discriminator_matches_the_papers_patchgan():
    discriminator = models.build_discriminator(64)
    assert trainable_count(discriminator) == PAPER_PATCHGAN
    assert discriminator.compute_output_shape([(2, 256, 256, 1), (2, 256, 256, 2)]) == (2, 30, 30, 1)
    assert models.receptive_field(discriminator) == 70


@pytest.mark.parametrize("image_size", [32, 64, 128])
def test_depth_follows_the_image_size(image_size):
    generator = models.build_generator(image_size, base_filters=4)
    assert models.size_multiple(generator) == image_size
    assert models.unet_depth(image_size) == int(np.log2(image_size))


def test_generator_is_fully_convolutional_and_outputs_ab_in_range():
    generator = models.build_generator(32, base_filters=8)
    lightness = np.random.default_rng(0).uniform(-1, 1, (2, 64, 96, 1)).astype("float32")
    ab = generator(lightness, training=False).numpy()
    assert ab.shape == (2, 64, 96, 2)
    assert ab.dtype == np.float32 and np.abs(ab).max() <= 1.0
    assert generator.name == "generator"


def test_discriminator_logits_on_a_small_input():
    discriminator = models.build_discriminator(base_filters=8)
    logits = discriminator([np.zeros((1, 32, 32, 1), "float32"), np.zeros((1, 32, 32, 2), "float32")])
    assert logits.shape == (1, 2, 2, 1)  # 32 / 8 - 2


def test_no_batch_norm_on_first_and_innermost_levels():
    generator = models.build_generator(32, base_filters=8)
    names = {layer.name for layer in generator.layers}
    assert "down_1_norm" not in names and "down_5_norm" not in names  # 1x1 features at 32: depth 5
    assert {"down_2_norm", "down_4_norm"} <= names


def test_outputs_stay_float32_under_mixed_precision():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        generator = models.build_generator(32, base_filters=8)
        discriminator = models.build_discriminator(base_filters=8)
    finally:
        keras.config.set_dtype_policy(previous)
    assert generator.get_layer("down_2_conv").compute_dtype == "float16"
    lightness = np.zeros((1, 32, 32, 1), "float32")
    ab = generator(lightness)
    assert ab.dtype == "float32"
    assert discriminator([keras.ops.convert_to_tensor(lightness), ab]).dtype == "float32"


def test_saved_generator_reloads_without_custom_objects(tmp_path):
    generator = models.build_generator(32, base_filters=8)
    path = tmp_path / "generator.keras"
    generator.save(path)
    loaded = keras.models.load_model(path)
    lightness = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 1)).astype("float32")
    np.testing.assert_array_equal(loaded(lightness).numpy(), generator(lightness).numpy())


@pytest.mark.parametrize("image_size", [100, 0, 2.5])
def test_bad_image_size_is_refused(image_size):
    with pytest.raises(ValueError, match="power of two"):
        models.build_generator(image_size)


def test_size_multiple_refuses_other_models():
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="not a colorgan generator"):
        models.size_multiple(other)
