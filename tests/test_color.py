"""The Lab core against scikit-image: random colors, real photos, round trips, batches, errors."""

import numpy as np
import pytest
import tensorflow as tf
from skimage import color as skcolor

from colorgan import color


def _random_colors(n=100_000, seed=0):
    return np.random.default_rng(seed).random((n, 3), dtype=np.float64)


def _max_channel_error(ours, reference):
    return np.abs(np.asarray(ours, np.float64) - reference).reshape(-1, 3).max(axis=0)


def test_rgb_to_lab_matches_skimage_on_100k_random_colors():
    rgb = _random_colors()
    ours = color.rgb_to_lab(rgb.astype(np.float32)).numpy()
    reference = skcolor.rgb2lab(rgb[None])[0]
    assert ours.dtype == np.float32
    assert (_max_channel_error(ours, reference) < 0.05).all(), _max_channel_error(ours, reference)


def test_lab_to_rgb_inverts_skimage_lab_on_100k_random_colors():
    rgb = _random_colors(seed=1)
    lab = skcolor.rgb2lab(rgb[None])[0]
    back = color.lab_to_rgb(lab.astype(np.float32)).numpy()
    assert np.abs(back - rgb).max() < 1e-3


def test_rgb_to_lab_matches_skimage_on_real_photos(sample_photos):
    for name, photo in sample_photos.items():
        ours = color.rgb_to_lab(tf.image.convert_image_dtype(photo, tf.float32)).numpy()
        reference = skcolor.rgb2lab(photo)
        error = _max_channel_error(ours, reference)
        assert (error < 0.05).all(), f"{name}: max |dL|, |da|, |db| = {error}"


def test_8bit_round_trip_on_real_photos_is_within_one_level(sample_photos):
    for name, photo in sample_photos.items():
        lab = color.rgb_to_lab(tf.image.convert_image_dtype(photo, tf.float32))
        back = color.to_uint8(color.lab_to_rgb(lab).numpy())
        diff = np.abs(back.astype(int) - photo.astype(int))
        assert diff.max() <= 1, f"{name}: round trip off by {diff.max()} levels"


def test_numpy_fast_path_agrees_with_skimage(sample_photos):
    photo = sample_photos["astronaut"]
    error = _max_channel_error(color.rgb_to_lab_np(photo), skcolor.rgb2lab(photo))
    assert (error < 0.05).all(), error
    back = color.to_uint8(color.lab_to_rgb_np(skcolor.rgb2lab(photo).astype(np.float32)))
    assert np.abs(back.astype(int) - photo.astype(int)).max() <= 1


def test_any_leading_batch_shape_and_tf_function():
    rgb = np.random.default_rng(2).random((2, 3, 5, 7, 3)).astype(np.float32)
    lab = tf.function(color.rgb_to_lab)(rgb)
    assert lab.shape == (2, 3, 5, 7, 3)
    reference = skcolor.rgb2lab(rgb.reshape(-1, 1, 3)).reshape(rgb.shape)
    assert np.abs(lab.numpy() - reference).max() < 0.05


def test_usable_inside_tf_data():
    images = np.random.default_rng(3).random((4, 8, 8, 3)).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices(images).map(color.rgb_to_model).batch(2)
    l_batch, ab_batch = next(iter(dataset))
    assert l_batch.shape == (2, 8, 8, 1) and ab_batch.shape == (2, 8, 8, 2)


def test_normalization_convention_and_inverse():
    lab = tf.constant([[0.0, -110.0, 110.0], [100.0, 55.0, -200.0], [50.0, 0.0, 0.0]])
    l_norm, ab_norm = color.normalize_lab(lab)
    np.testing.assert_allclose(l_norm.numpy()[:, 0], [-1.0, 1.0, 0.0])
    np.testing.assert_allclose(ab_norm.numpy(), [[-1.0, 1.0], [0.5, -1.0], [0.0, 0.0]])  # -200 clipped
    restored = color.denormalize_lab(l_norm, ab_norm).numpy()
    np.testing.assert_allclose(restored[:, 0], [0.0, 100.0, 50.0], atol=1e-5)
    np.testing.assert_allclose(restored[1, 1:], [55.0, -110.0], atol=1e-4)


def test_model_round_trip_of_real_photo(sample_photos):
    photo = tf.image.convert_image_dtype(sample_photos["coffee"], tf.float32)
    l_norm, ab_norm = color.rgb_to_model(photo)
    assert float(tf.reduce_min(l_norm)) >= -1.0 and float(tf.reduce_max(l_norm)) <= 1.0
    assert float(tf.reduce_max(tf.abs(ab_norm))) <= 1.0
    back = color.to_uint8(color.model_to_rgb(l_norm, ab_norm).numpy())
    assert np.abs(back.astype(int) - sample_photos["coffee"].astype(int)).max() <= 1


def test_out_of_gamut_lab_is_clipped_to_valid_rgb():
    rgb = color.lab_to_rgb(tf.constant([[[50.0, 127.0, -127.0], [100.0, -128.0, 127.0], [0.0, 100.0, 100.0]]]))
    assert float(tf.reduce_min(rgb)) >= 0.0 and float(tf.reduce_max(rgb)) <= 1.0
    assert not np.isnan(rgb.numpy()).any()


@pytest.mark.parametrize("function", [color.rgb_to_lab, color.lab_to_rgb])
def test_wrong_dtype_raises_value_error(function):
    with pytest.raises(ValueError, match="uint8"):
        function(np.zeros((4, 4, 3), np.uint8))


@pytest.mark.parametrize("function", [color.rgb_to_lab, color.lab_to_rgb, color.rgb_to_lab_np])
def test_wrong_channel_count_raises_value_error(function):
    with pytest.raises(ValueError, match="3"):
        function(np.zeros((4, 4, 4), np.float32))
