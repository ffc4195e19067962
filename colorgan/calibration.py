"""Choosing by numbers: which epoch becomes ``generator.keras``, and how strong its colors are.

The selection rule (``better``/``choose_epoch``), on the color monitor's validation figures:
only epochs of the run's last phase compete (after any generator-only warm-up and critic
pre-training, when the run has an adversarial phase; every epoch otherwise). Among them an epoch
whose colorfulness reaches ``min_colorfulness_ratio`` of the real photos' is *colorful*; the best
colorful epoch by PSNR wins, and only when no epoch is colorful, the best by PSNR. Validation L1
alone is never the rule: it rewards the sepia average.

The color strength (``calibrate_strength``): a gain on the predicted ab and the working size the
generator sees a photo at (its long side), chosen together on the validation photos as users colorize
them, at their original size (the source files the prepared copies were made from, where unchanged;
else the prepared copies; at most ``MAX_SIDE`` long and ``MAX_PHOTOS`` of them): the most colorful
pair on a grid that still beats gray by ``margin_db`` of PSNR and ``margin_ciede`` of CIEDE2000 (0.5
each: clearly better than leaving the photo gray) without passing the real photos' colorfulness;
when no pair does, the pair with the best PSNR. At each working size the gain the rule would choose
there is refined to a quarter of the grid's step toward the next gain (``refinement``) before the rule
chooses among all pairs.
"""

import numpy as np

MIN_COLORFULNESS_RATIO = 0.5
GAINS = (0.25, 0.5, 0.75, 1.0, 1.125, 1.25, 1.375, 1.5, 1.625, 1.75, 1.875, 2.0, 2.25, 2.5, 3.0)  # fine where it is chosen
MARGIN_DB = 0.5
MARGIN_CIEDE = 0.5
MAX_SIDE = 512  # photos are scored at most this long: camera originals would cost hours for little change
MAX_PHOTOS = 200  # at most this many validation photos (a seeded choice): enough to rank gains
METRICS = ("psnr", "ciede2000", "colorfulness")  # what the rule reads (and ab MSE, for ab explained)
REFINE_STEPS = 4  # each size's chosen gain is refined to 1/4 of the grid's step: a step of 1/8 moves colorfulness ~2


def score(psnr, colorfulness, truth_colorfulness, min_ratio=MIN_COLORFULNESS_RATIO):
    """A sortable score: (is colorful enough, PSNR). Higher is better."""
    return (bool(colorfulness >= min_ratio * truth_colorfulness), float(psnr))


def better(candidate, incumbent):
    """Is ``candidate``'s score better than ``incumbent``'s (None: nothing chosen yet)?"""
    return incumbent is None or tuple(candidate) > tuple(incumbent)


def choose_epoch(history, first_epoch=0, min_ratio=MIN_COLORFULNESS_RATIO):
    """The 0-based epoch the rule picks from a history ({column: array}, ``val_psnr``,
    ``val_colorfulness``, ``val_colorfulness_truth``), considering epochs >= ``first_epoch``."""
    best, chosen = None, None
    for epoch in range(first_epoch, len(history["val_psnr"])):
        candidate = score(history["val_psnr"][epoch], history["val_colorfulness"][epoch],
                          history["val_colorfulness_truth"][epoch], min_ratio)
        if better(candidate, best):
            best, chosen = candidate, epoch
    return chosen


def verdict(row, photos):
    """One plain sentence on a calibrated ``row``: do its colors beat leaving the photos gray?"""
    figures = (f"PSNR {row['psnr']:.2f} dB beside gray's {row['gray_psnr']:.2f}, CIEDE2000 {row['ciede2000']:.2f} "
               f"beside gray's {row['gray_ciede2000']:.2f}, on {photos} validation photos")
    if row["psnr"] > row["gray_psnr"] and row["ciede2000"] < row["gray_ciede2000"]:
        return f"its colors are closer to the real ones than gray is ({figures})"
    return (f"its colors are WORSE than leaving the photos gray ({figures}): train it on more photos or for "
            "more epochs before using it")


def choose_row(table, margin_db=MARGIN_DB, margin_ciede=MARGIN_CIEDE):
    """From rows {"gain", "psnr", "ciede2000", "colorfulness", "real_colorfulness", "gray_psnr",
    "gray_ciede2000", ...}: the calibrated row (see module doc)."""
    if not table:
        raise ValueError("no gains to choose from")
    allowed = [row for row in table if row["psnr"] >= row["gray_psnr"] + margin_db
               and row["ciede2000"] <= row["gray_ciede2000"] - margin_ciede
               and row["colorfulness"] <= row["real_colorfulness"]]
    if not allowed:
        return max(table, key=lambda row: row["psnr"])
    return max(allowed, key=lambda row: row["colorfulness"])


def choose_gain(table, margin_db=MARGIN_DB, margin_ciede=MARGIN_CIEDE):
    """The gain of ``choose_row``."""
    return choose_row(table, margin_db, margin_ciede)["gain"]


def refinement(gain, gains=GAINS, steps=REFINE_STEPS):
    """The gains strictly between ``gain`` and the next larger of ``gains``, ``steps`` equal parts apart
    (none above the largest)."""
    larger = [each for each in gains if each > gain]
    if not larger:
        return []
    step = (min(larger) - gain) / steps
    return [gain + step * k for k in range(1, steps)]


def calibration_photos(photo_paths, max_photos=MAX_PHOTOS, seed=0):
    """At most ``max_photos`` of ``photo_paths``: all when there are no more, else a seeded choice (sorted)."""
    photo_paths = sorted(photo_paths)
    if len(photo_paths) <= max_photos:
        return photo_paths
    chosen = np.random.default_rng(seed).choice(len(photo_paths), max_photos, replace=False)
    return [photo_paths[index] for index in sorted(chosen)]


def calibrate_strength(generator, photo_paths, gains=GAINS, margin_db=MARGIN_DB, margin_ciede=MARGIN_CIEDE,
                       working_sizes=(None,), max_side=MAX_SIDE):
    """Evaluate ``generator`` at each working size and gain on ``photo_paths`` -> (chosen row, table of rows).

    ``working_sizes``: long sides to try (None: the generator's own ``working_size``); ``max_side``:
    photos longer than this are scored reduced to it.
    """
    from colorgan import evaluate, inference

    table = []
    with evaluate.scoring_pool() as pool:
        # Each photo is read, converted and gray scored once, for every working size and gain.
        truths = evaluate.Truths.read(photo_paths, METRICS, max_side, pool)
        for working_size in working_sizes:
            size = working_size or generator.working_size
            predicted = inference.predict_ab(generator, truths.grays, working_size=size)  # one pass per size
            rows = _rows(truths, predicted, gains, size, pool)
            finer = refinement(choose_row(rows, margin_db, margin_ciede)["gain"], gains)  # this size's choice, refined
            table += rows + (_rows(truths, predicted, finer, size, pool) if finer else [])
    return choose_row(table, margin_db, margin_ciede), table


def _rows(truths, predicted, gains, working_size, pool):
    """The calibration's table rows for ``gains`` at one working size (a gain only rescales the network's ab)."""
    results = truths.results(truths.score(predicted, gains, pool), len(truths.names) + len(truths.skipped))
    return [{"gain": float(gain), "working_size": working_size, **{name: result["model"][name] for name in METRICS},
             "real_colorfulness": result["real_colorfulness"], "gray_psnr": result["gray"]["psnr"],
             "gray_ciede2000": result["gray"]["ciede2000"], "ab_explained": result["ab_explained"]}
            for gain, result in zip(gains, results, strict=True)]


def explained_variance(ab_prediction, ab_truth):
    """Share of the ab variance explained: 1 - MSE(ab) / MSE(0); 0 for gray output, 1 for perfect."""
    ab_truth = np.asarray(ab_truth, np.float64)
    baseline = np.mean(np.square(ab_truth))
    if baseline == 0:
        return float("nan")
    return float(1.0 - np.mean(np.square(np.asarray(ab_prediction, np.float64) - ab_truth)) / baseline)
