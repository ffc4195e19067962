"""How close a colorized photo is to the real one: per-image numbers and their averages.

- PSNR and SSIM on 8-bit RGB (scikit-image): the usual image-restoration scores. They reward
  gray output: a gray photo is never far from the truth, a plausible but wrong color is.
- CIEDE2000 (mean per-pixel color difference; ~2.3 is a just-noticeable difference).
- Colorfulness of Hasler and Suesstrunk (2003) and its gap to the real photo's: negative
  means duller than the truth, the usual failure of L1-trained colorizers.
- ab-accuracy AUC of Zhang et al. (2016): the fraction of pixels whose ab is within a threshold
  (L2, Lab units) of the truth, swept over thresholds 0..150 and normalized to [0, 1].
- ab MAE: mean |ab| error in the model's normalized scale (what the L1 loss trains); ab MSE in Lab
  units (against gray's, the share of ab variance explained).

Every metric takes ``(prediction, truth)`` in that order.
"""

import numpy as np
from skimage import color as skcolor
from skimage import metrics as skmetrics

from colorgan import color

PSNR_CAP = 100.0  # dB for identical images (PSNR is infinite there), so averages and JSON stay finite
AUC_MAX_THRESHOLD = 150  # Zhang et al.: thresholds 0..150 in ab units
# Per metric, which way is better; the order is the order of the printed table. Colorfulness
# itself is neither: it is read beside the real photos' own.
BETTER = {
    "psnr": "higher", "ssim": "higher", "ciede2000": "lower", "auc": "higher", "ab_mae": "lower",
    "colorfulness": "near real", "colorfulness_gap": "near 0", "ab_mse": "lower",
}


def _check_pair(prediction, truth):
    prediction, truth = np.asarray(prediction), np.asarray(truth)
    if prediction.shape != truth.shape or prediction.ndim != 3 or prediction.shape[-1] != 3:
        raise ValueError(f"expected two RGB images of the same shape (H, W, 3), got {prediction.shape} and "
                         f"{truth.shape}")
    if prediction.dtype != np.uint8 or truth.dtype != np.uint8:
        raise ValueError(f"expected uint8 RGB images, got {prediction.dtype} and {truth.dtype}")
    return prediction, truth


def psnr(prediction, truth):
    """Peak signal-to-noise ratio of uint8 RGB in dB (capped at PSNR_CAP for identical images)."""
    prediction, truth = _check_pair(prediction, truth)
    if np.array_equal(prediction, truth):
        return PSNR_CAP
    return min(PSNR_CAP, float(skmetrics.peak_signal_noise_ratio(truth, prediction, data_range=255)))


def ssim(prediction, truth):
    """Structural similarity of uint8 RGB (7x7 windows, smaller for tiny images), 1 for identical images."""
    prediction, truth = _check_pair(prediction, truth)
    window = min(7, *prediction.shape[:2])
    window -= 1 - window % 2  # SSIM needs an odd window that fits in the image
    if window < 3:
        return 1.0 if np.array_equal(prediction, truth) else float("nan")
    return float(skmetrics.structural_similarity(truth, prediction, channel_axis=-1, data_range=255,
                                                 win_size=window))


def ciede2000(lab_prediction, lab_truth):
    """Mean CIEDE2000 color difference of two Lab images (..., 3)."""
    return float(np.mean(skcolor.deltaE_ciede2000(lab_truth, lab_prediction)))


def colorfulness(rgb):
    """Hasler and Suesstrunk's colorfulness of a uint8 RGB image (0 for gray; ~30-60 for everyday photos)."""
    rgb = np.asarray(rgb, np.float64)
    red_green = rgb[..., 0] - rgb[..., 1]
    yellow_blue = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    spread = np.hypot(red_green.std(), yellow_blue.std())
    offset = np.hypot(red_green.mean(), yellow_blue.mean())
    return float(spread + 0.3 * offset)


def ab_auc(ab_prediction, ab_truth, max_threshold=AUC_MAX_THRESHOLD):
    """Zhang et al.'s ab accuracy: area under "fraction of pixels with |ab error| <= t" for t in 0..150, in [0, 1].

    Args:
        ab_prediction, ab_truth: ab in Lab units, shape (..., 2).
    """
    error = np.linalg.norm(np.asarray(ab_prediction, np.float64) - np.asarray(ab_truth, np.float64), axis=-1)
    thresholds = np.arange(max_threshold + 1)
    # Sorted errors give every threshold's fraction in one searchsorted instead of 151 passes.
    within = np.searchsorted(np.sort(error.ravel()), thresholds, side="right") / error.size
    return float(np.trapezoid(within, thresholds) / max_threshold)


def ab_mae(ab_prediction, ab_truth):
    """Mean absolute error of ab in the model's normalized scale [-1, 1] (the L1 term of the loss)."""
    return float(np.mean(np.abs(color.ab_to_model_np(ab_prediction) - color.ab_to_model_np(ab_truth))))


def ab_explained(model_mse, gray_mse):
    """Share of the ab variance explained: 1 - the model's ab MSE / gray's (gray's is the truth's ab energy).

    0 for gray output, negative for colors worse than none, 1 for perfect; NaN when the truth is gray.
    """
    return float(1.0 - model_mse / gray_mse) if gray_mse > 0 else float("nan")


def to_lab(rgb):
    """uint8 RGB -> CIE Lab in float32 (scikit-image's conversion; float32 makes CIEDE2000 ~3x faster than
    float64, with averages equal to ~1e-6)."""
    return skcolor.rgb2lab(np.asarray(rgb, np.float32) / np.float32(255.0))


def image_metrics(prediction, truth, names=None, truth_lab=None):
    """The metrics of one colorized uint8 RGB image against the real one -> {name: float}.

    ``names``: only these (default: all of ``BETTER``; the calibration needs four of them, and SSIM
    and AUC are the slow ones). ``truth_lab``: the truth in Lab when already converted (the same photo
    scored at several gains), from ``to_lab``.
    """
    prediction, truth = _check_pair(prediction, truth)
    names = tuple(BETTER) if names is None else tuple(names)
    lab_prediction = to_lab(prediction)
    lab_truth = to_lab(truth) if truth_lab is None else truth_lab
    values = {
        "psnr": lambda: psnr(prediction, truth),
        "ssim": lambda: ssim(prediction, truth),
        "ciede2000": lambda: ciede2000(lab_prediction, lab_truth),
        "colorfulness": lambda: colorfulness(prediction),
        "auc": lambda: ab_auc(lab_prediction[..., 1:], lab_truth[..., 1:]),
        "ab_mae": lambda: ab_mae(lab_prediction[..., 1:], lab_truth[..., 1:]),
        # Mean squared ab error in Lab units; for the gray baseline it is the truth's ab energy, so
        # 1 - model / gray over a set of photos is the share of ab variance explained.
        "ab_mse": lambda: float(np.mean(np.square(lab_prediction[..., 1:] - lab_truth[..., 1:]))),
        "colorfulness_gap": lambda: computed("colorfulness") - colorfulness(truth),
    }
    unknown = set(names) - set(values)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; known: {list(BETTER)}")
    done = {}

    def computed(name):  # each metric once, even when another one needs it
        if name not in done:
            done[name] = values[name]()
        return done[name]

    return {name: computed(name) for name in names}


def average(per_image):
    """Mean of each metric over a list of ``image_metrics`` dicts (NaN entries, e.g. SSIM of 2x2 images, skipped)."""
    if not per_image:
        raise ValueError("no images to average")
    return {name: float(np.nanmean([values[name] for values in per_image])) for name in per_image[0]}
