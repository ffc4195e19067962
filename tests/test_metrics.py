"""Metrics against hand-computed values: a perfect prediction, a gray one, a known ab shift."""

import math

import numpy as np
import pytest
from skimage import color as skcolor

from colorgan import metrics


@pytest.fixture(scope="module")
def photo(sample_photos):
    return sample_photos["coffee"][:96, :128]


def _gray_of(rgb):
    lab = skcolor.rgb2lab(rgb)
    lab[..., 1:] = 0
    return (np.clip(skcolor.lab2rgb(lab), 0, 1) * 255 + 0.5).astype(np.uint8)


def test_a_perfect_prediction_scores_perfectly(photo):
    values = metrics.image_metrics(photo, photo)
    assert values["psnr"] == metrics.PSNR_CAP
    assert values["ssim"] == pytest.approx(1.0)
    assert values["ciede2000"] == 0.0 and values["ab_mae"] == 0.0 and values["colorfulness_gap"] == 0.0
    assert values["auc"] == pytest.approx(1.0)
    assert list(values) == list(metrics.BETTER)


def test_psnr_of_a_one_level_offset_is_the_textbook_value():
    truth = np.full((8, 8, 3), 100, np.uint8)
    assert metrics.psnr(truth + 1, truth) == pytest.approx(20 * math.log10(255))  # MSE 1 -> 48.13 dB


def test_colorfulness_by_hand():
    assert metrics.colorfulness(np.full((4, 4, 3), 77, np.uint8)) == 0.0  # gray has none
    # Half pure red, half pure blue: rg = 255 | 0, yb = 127.5 | -255 -> std 127.5 and 191.25, means 127.5, -63.75.
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, :, 0] = 255
    rgb[1, :, 2] = 255
    expected = math.hypot(127.5, 191.25) + 0.3 * math.hypot(127.5, -63.75)
    assert metrics.colorfulness(rgb) == pytest.approx(expected)


def test_a_gray_prediction_has_the_photos_structure_but_none_of_its_color(photo):
    gray = _gray_of(photo)
    values = metrics.image_metrics(gray, photo)
    truth_ab = skcolor.rgb2lab(photo)[..., 1:]
    assert values["colorfulness"] < 1.0  # 8-bit rounding leaves a trace of chroma
    assert values["colorfulness_gap"] == pytest.approx(values["colorfulness"] - metrics.colorfulness(photo))
    # The ab error of gray is the truth's own chroma |ab|, so MAE and AUC follow from the photo alone.
    assert values["ab_mae"] == pytest.approx(np.abs(np.clip(truth_ab / 110, -1, 1)).mean(), abs=2e-3)
    chroma = np.linalg.norm(truth_ab, axis=-1)
    expected_auc = np.trapezoid([(chroma <= t).mean() for t in range(151)], dx=1) / 150
    assert values["auc"] == pytest.approx(expected_auc, abs=0.01)


def test_psnr_and_ssim_prefer_gray_to_a_colorful_wrong_guess(photo):
    lab = skcolor.rgb2lab(photo)
    lab[..., 1:] *= -1  # every hue swapped for its opposite: as colorful as the truth, and wrong
    wrong = (np.clip(skcolor.lab2rgb(lab), 0, 1) * 255 + 0.5).astype(np.uint8)
    gray, colorful = metrics.image_metrics(_gray_of(photo), photo), metrics.image_metrics(wrong, photo)
    assert gray["psnr"] > colorful["psnr"] and gray["ssim"] > colorful["ssim"]  # why the gray baseline is shown
    assert abs(colorful["colorfulness_gap"]) < abs(gray["colorfulness_gap"])  # colorfulness sees the difference


def test_a_known_constant_ab_shift():
    truth = np.zeros((10, 10, 2))
    shifted = truth + [3.0, 4.0]  # |error| = 5 everywhere
    # Fraction within t is 0 for t < 5 and 1 from t = 5: trapezoids give 0.5 (from 4 to 5) + 145 (from 5 to 150).
    assert metrics.ab_auc(shifted, truth) == pytest.approx(145.5 / 150)
    assert metrics.ab_mae(shifted, truth) == pytest.approx(3.5 / 110)
    assert metrics.ab_auc(truth + [200.0, 0.0], truth) == 0.0  # beyond every threshold


def test_ciede2000_of_a_known_pair_from_sharma_et_al():
    # Pair 1 of Sharma, Wu and Dalal (2005), the CIEDE2000 reference data: dE00 = 2.0425.
    truth = np.broadcast_to([50.0, 2.6772, -79.7751], (3, 5, 3))
    prediction = np.broadcast_to([50.0, 0.0, -82.7485], (3, 5, 3))
    assert metrics.ciede2000(prediction, truth) == pytest.approx(2.0425, abs=1e-4)
    assert metrics.ciede2000(truth, truth) == 0.0


def test_tiny_images_and_mismatched_pairs():
    tiny = np.zeros((2, 3, 3), np.uint8)
    assert metrics.ssim(tiny, tiny) == 1.0 and math.isnan(metrics.ssim(tiny + 1, tiny))
    assert metrics.image_metrics(np.zeros((5, 5, 3), np.uint8), np.zeros((5, 5, 3), np.uint8))["ssim"] == 1.0
    with pytest.raises(ValueError, match="same shape"):
        metrics.image_metrics(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        metrics.psnr(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)))


def test_average_skips_undefined_values():
    per_image = [{"ssim": 0.5, "auc": 0.9}, {"ssim": float("nan"), "auc": 0.7}]
    assert metrics.average(per_image) == pytest.approx({"ssim": 0.5, "auc": 0.8})
    with pytest.raises(ValueError, match="no images"):
        metrics.average([])


def test_a_subset_of_metrics_with_a_precomputed_truth_gives_the_same_numbers(photo):
    prediction = np.clip(photo.astype(int) + [12, -5, 3], 0, 255).astype(np.uint8)
    full = metrics.image_metrics(prediction, photo)
    few = metrics.image_metrics(prediction, photo, ["ciede2000", "psnr"], truth_lab=metrics.to_lab(photo))
    assert list(few) == ["ciede2000", "psnr"] and few == {name: full[name] for name in few}
    with pytest.raises(ValueError, match="unknown metrics"):
        metrics.image_metrics(prediction, photo, ["sharpness"])


def test_ab_explained_is_zero_for_gray_one_for_the_truth():
    truth = np.random.default_rng(0).normal(0, 0.2, (100, 2))

    def explained(prediction):
        return metrics.ab_explained(np.mean(np.square(prediction - truth)), np.mean(np.square(truth)))

    assert explained(np.zeros_like(truth)) == 0.0
    assert explained(truth) == 1.0
    assert explained(-truth) == pytest.approx(-3.0)
    assert np.isnan(metrics.ab_explained(0.0, 0.0))  # a gray truth: nothing to explain
