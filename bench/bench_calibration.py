"""Scoring for the color-strength calibration: one photo at one gain, the project's way against the old one.

The calibration scores every validation photo, at its original size, at every gain and working size
(138 photos x (15 gains + 3 refined ones) x 7 sizes for the reference run), so this per-photo cost is
most of its time. Baseline, in the same run: what it did before, every metric (SSIM and AUC included)
with float64 Lab and the truth converted again at each gain. The project's way: the three metrics the
rule reads plus ab MSE, float32 Lab, each truth converted once. The numbers the rule reads must agree.

Then ``evaluate.evaluate_gains`` as the calibration calls it (reading, the network, scoring), with its
photos scored on one thread per core against one thread: the same numbers, in less time.

    .venv/bin/python bench/bench_calibration.py
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SIZE = (481, 321)  # BSDS500's size, about the shared photos' average (139k pixels)
GAINS = (1.0, 1.5, 2.0)
CALIBRATION_SCORES = 138 * (15 + 3) * 7  # the reference run's calibration: photos x (gains + refined) x sizes


def photos():
    """Scikit-image's color samples at BSDS size, and a plausible prediction: their own ab, blurred and halved."""
    import cv2
    import numpy as np
    from skimage import data

    from colorgan import color

    pairs = []
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        truth = cv2.resize(getattr(data, name)(), SIZE, interpolation=cv2.INTER_AREA)
        lab = color.rgb_to_lab_np(truth.astype(np.float32) / 255.0)
        ab = cv2.resize(cv2.GaussianBlur(lab[..., 1:], (0, 0), 8), (SIZE[0] // 3, SIZE[1] // 3)) * 0.5
        pairs.append((truth, color.lightness_u8(truth), (ab / color.AB_SCALE).astype(np.float32)))
    return pairs


def old_scores(prediction, truth):
    """Before: every metric, float64 Lab, the truth converted for each gain."""
    from skimage import color as skcolor

    from colorgan import metrics

    lab_prediction, lab_truth = skcolor.rgb2lab(prediction), skcolor.rgb2lab(truth)
    return {"psnr": metrics.psnr(prediction, truth), "ssim": metrics.ssim(prediction, truth),
            "ciede2000": metrics.ciede2000(lab_prediction, lab_truth), "colorfulness": metrics.colorfulness(prediction),
            "auc": metrics.ab_auc(lab_prediction[..., 1:], lab_truth[..., 1:]),
            "ab_mae": metrics.ab_mae(lab_prediction[..., 1:], lab_truth[..., 1:])}


def main():
    import numpy as np

    from colorgan import inference, metrics

    pairs = photos()
    joined = [[inference.join(lightness, ab, gain) for gain in GAINS] for _, lightness, ab in pairs]

    def old_way():
        return [[old_scores(prediction, truth) for prediction in row] for (truth, _, _), row in zip(pairs, joined, strict=True)]

    def new_way():
        results = []
        for (truth, _, _), row in zip(pairs, joined, strict=True):
            lab = metrics.to_lab(truth)  # once per photo
            results.append([metrics.image_metrics(prediction, truth, ("psnr", "ciede2000", "colorfulness", "ab_mse"),
                                                  lab) for prediction in row])
        return results

    scored = len(pairs) * len(GAINS)
    old_s = common.median_seconds(old_way, repeats=3) / scored
    new_s = common.median_seconds(new_way, repeats=3) / scored
    old, new = old_way(), new_way()
    gap = max(abs(o[name] - n[name]) for o_row, n_row in zip(old, new, strict=True) for o, n in zip(o_row, n_row, strict=True)
              for name in ("psnr", "ciede2000", "colorfulness"))
    rows = [{"way": "before: all metrics, float64 Lab", "ms_per_photo_gain": round(1000 * old_s, 1),
             "reference_calibration_min": round(old_s * CALIBRATION_SCORES / 60, 1)},
            {"way": "colorgan: rule's metrics, float32 Lab, truth once", "ms_per_photo_gain": round(1000 * new_s, 1),
             "reference_calibration_min": round(new_s * CALIBRATION_SCORES / 60, 1)}]
    notes = (f"speed-up {old_s / new_s:.1f}x on {len(pairs)} photos of {SIZE[0]}x{SIZE[1]} at gains {GAINS}; "
             f"largest difference in what the rule reads (PSNR, CIEDE2000, colorfulness): {gap:.2g}. "
             f"reference_calibration_min: scoring alone for {CALIBRATION_SCORES} photo-gains (network and "
             "reading not included).")
    assert np.isfinite(gap) and gap < 1e-3, gap
    common.report("calibration_scoring", rows, notes)
    threads(pairs)


def threads(pairs):
    """``evaluate_gains`` over the photos (saved as PNG), one thread per core against one thread."""
    import os
    import tempfile

    import cv2

    from colorgan import calibration, evaluate, models

    generator = models.build_generator(64, 8)
    generator.get_layer("output_conv").bias.assign([0.1, -0.05])
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, (truth, _, _) in enumerate(pairs * 4):
            paths.append(os.path.join(folder, f"{index:02d}.png"))
            cv2.imwrite(paths[-1], truth[..., ::-1])

        def run(workers):
            return evaluate.evaluate_gains(generator, paths, calibration.GAINS, working_size=160, workers=workers,
                                           metric_names=("psnr", "ciede2000", "colorfulness"))

        cores = os.cpu_count() or 1
        one_s = common.median_seconds(lambda: run(1), repeats=3)
        many_s = common.median_seconds(lambda: run(cores), repeats=3)
        same = all(a["model"] == b["model"] for a, b in zip(run(1), run(cores), strict=True))
    assert same, "scoring on threads changed the numbers"
    rows = [{"way": "evaluate_gains, 1 thread", "s": round(one_s, 2)},
            {"way": f"evaluate_gains, {cores} threads (one per core)", "s": round(many_s, 2)}]
    common.report("calibration_threads", rows, f"speed-up {one_s / many_s:.2f}x: {len(paths)} photos of "
                  f"{SIZE[0]}x{SIZE[1]} at {len(calibration.GAINS)} gains, working size 160; identical numbers")


if __name__ == "__main__":
    main()
