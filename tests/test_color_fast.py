"""The full-resolution NumPy/OpenCV Lab functions against scikit-image (the TF ops' reference too)."""

import warnings

import numpy as np
import pytest
from skimage import color as skcolor

from colorgan import color


def _skimage_rgb_u8(lab):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "negative Z values that have been clipped": expected out of gamut
        return color.to_uint8(skcolor.lab2rgb(np.asarray(lab, np.float64)))


def test_lightness_u8_matches_skimage_on_random_colors_and_photos(sample_photos):
    rgb = np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    for name, photo in {"random": rgb, **sample_photos}.items():
        error = np.abs(color.lightness_u8(photo) - skcolor.rgb2lab(photo)[..., 0])
        assert error.max() < 1e-3, f"{name}: max |dL| = {error.max()}"


def test_lightness_u8_of_every_gray_level_matches_skimage():
    gray = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=-1)  # the 256-entry table path
    lightness = color.lightness_u8(gray)
    assert lightness.shape == (1, 256) and lightness.dtype == np.float32
    assert np.abs(lightness - skcolor.rgb2lab(gray)[..., 0]).max() < 1e-3


def test_lab_to_rgb_u8_matches_skimage_within_one_level_even_out_of_gamut():
    rng = np.random.default_rng(1)
    lightness = rng.uniform(0, 100, (200, 300)).astype(np.float32)
    ab = rng.uniform(-128, 128, (200, 300, 2)).astype(np.float32)  # many colors outside sRGB
    ours = color.lab_to_rgb_u8(lightness, ab[..., 0], ab[..., 1])
    reference = _skimage_rgb_u8(np.dstack([lightness, ab]))
    assert ours.dtype == np.uint8 and ours.shape == (200, 300, 3)
    assert np.abs(ours.astype(int) - reference).max() <= 1


def test_photo_round_trip_through_the_fast_pair_is_exact(sample_photos):
    for name, photo in sample_photos.items():
        ab = skcolor.rgb2lab(photo)[..., 1:]
        back = color.lab_to_rgb_u8(color.lightness_u8(photo), ab[..., 0], ab[..., 1])
        assert np.abs(back.astype(int) - photo).max() <= 1, name


def test_model_scale_helpers_follow_the_convention():
    assert color.lightness_to_model_np(np.array([0.0, 50.0, 100.0])).tolist() == [-1.0, 0.0, 1.0]
    assert color.ab_to_model_np(np.array([-220.0, 55.0, 220.0])).tolist() == [-1.0, 0.5, 1.0]
    assert color.ab_from_model_np(np.array([0.5], np.float16)).tolist() == [55.0]


def test_fast_functions_reject_wrong_shapes_and_dtypes():
    with pytest.raises(ValueError, match="uint8 RGB"):
        color.lightness_u8(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"one shape \(H, W\)"):
        color.lab_to_rgb_u8(np.zeros((4, 4)), np.zeros((4, 4)), np.zeros((4, 5)))


def test_rgb_u8_to_lab_matches_skimage(sample_photos):
    for name, photo in sample_photos.items():
        error = np.abs(color.rgb_u8_to_lab(photo) - skcolor.rgb2lab(photo)).reshape(-1, 3).max(axis=0)
        assert (error < 0.05).all(), f"{name}: max |dL|, |da|, |db| = {error}"


@pytest.mark.parametrize("lab_to_rgb", [color.lab_to_rgb_u8, color.lab_to_rgb_u16])
def test_lab_to_rgb_fills_a_strip_of_a_photo_from_views_of_one_ab_array(lab_to_rgb):
    rng = np.random.default_rng(2)
    lightness = rng.uniform(0, 100, (20, 30)).astype(np.float32)
    ab = rng.uniform(-110, 110, (20, 30, 2)).astype(np.float32)
    expected = lab_to_rgb(lightness, ab[..., 0].copy(), ab[..., 1].copy())
    photo = np.zeros((50, 30, 3), expected.dtype)
    filled = lab_to_rgb(lightness, ab[..., 0], ab[..., 1], out=photo[10:30])
    assert np.shares_memory(filled, photo) and np.array_equal(photo[10:30], expected)
    assert not photo[:10].any() and not photo[30:].any()


def test_a_gray_photo_with_one_colored_pixel_off_the_sampled_rows_gets_its_true_lightness():
    rgb = np.repeat(np.random.default_rng(3).integers(0, 256, (64, 50, 1), dtype=np.uint8), 3, axis=-1)
    rgb[37, 11] = (250, 10, 10)  # rows 0, 4, 8, ... are compared first
    assert np.abs(color.lightness_u8(rgb) - skcolor.rgb2lab(rgb)[..., 0]).max() < 1e-3
