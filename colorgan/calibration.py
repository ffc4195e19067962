"""The color strength of a run's ``generator.keras``: the stage after training and choosing the epoch.

A gain on the predicted ab and the working size the generator sees a photo at are chosen together on
the run's validation photos, as users colorize them (``STRENGTH_RULE``), and stored in
``color_gain.json`` and inside ``generator.keras`` (``runs.write_gain``). ``colorgan train`` and
notebook 03 run ``calibrate`` after the last epoch; ``colorgan calibrate RUN`` runs it again.
"""


from colorgan import colorizers, evaluate, inference, runs
from colorgan.config import DEFAULTS, read_run_config
from colorgan.data.layout import count_source_files, validation_originals

# What color_strength.json records as the rule (its one home: rewording a docstring changes no run's record).
STRENGTH_RULE = (
    "The color strength (``calibrate_strength``): a gain on the predicted ab and the working size the generator "
    "sees a photo at (its long side), chosen together on the validation photos as users colorize them, at their "
    "original size (the source files the prepared copies were made from, where unchanged; else the prepared "
    "copies; at most ``MAX_SIDE`` long and ``MAX_PHOTOS`` of them): the most colorful pair on a grid that still "
    "beats gray by ``margin_db`` of PSNR and ``margin_ciede`` of CIEDE2000 (0.5 each: clearly better than leaving "
    "the photo gray) without passing the real photos' colorfulness; when no pair does, the pair with the best "
    "PSNR. At each working size the gain the rule would choose there is refined to a quarter of the grid's step "
    "toward the next gain (``refinement``) before the rule chooses among all pairs. ")
GAINS = (0.25, 0.5, 0.75, 1.0, 1.125, 1.25, 1.375, 1.5, 1.625, 1.75, 1.875, 2.0, 2.25, 2.5, 3.0)  # fine where it is chosen
MARGIN_DB = DEFAULTS["strength_margin_db"]
MARGIN_CIEDE = DEFAULTS["strength_margin_ciede"]
MAX_SIDE = 512  # photos are scored at most this long: camera originals would cost hours for little change
MAX_PHOTOS = 200  # at most this many validation photos (a seeded choice): enough to rank gains
METRICS = ("psnr", "ciede2000", "colorfulness")  # what the rule reads (and ab MSE, for ab explained)
REFINE_STEPS = 4  # each size's chosen gain is refined to 1/4 of the grid's step: a step of 1/8 moves colorfulness ~2


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
    "gray_ciede2000", ...}: the calibrated row (``STRENGTH_RULE``)."""
    if not table:
        raise ValueError("no gains to choose from")
    allowed = [row for row in table if row["psnr"] >= row["gray_psnr"] + margin_db
               and row["ciede2000"] <= row["gray_ciede2000"] - margin_ciede
               and row["colorfulness"] <= row["real_colorfulness"]]
    if not allowed:
        return max(table, key=lambda row: row["psnr"])
    return max(allowed, key=lambda row: row["colorfulness"])


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
    return evaluate.seeded_subset(sorted(photo_paths), max_photos, seed)  # sorted: the same choice in any order


def calibrate_strength(generator, photo_paths, gains=GAINS, margin_db=MARGIN_DB, margin_ciede=MARGIN_CIEDE,
                       working_sizes=(None,), max_side=MAX_SIDE):
    """Evaluate ``generator`` at each working size and gain on ``photo_paths`` -> (chosen row, table of rows).

    ``working_sizes``: long sides to try (None: the generator's own ``working_size``); ``max_side``:
    photos longer than this are scored reduced to it.
    """
    table = []
    with evaluate.scoring_pool() as pool:
        # Each photo is read, converted and gray scored once, for every working size and gain.
        truths = evaluate.Truths.read(photo_paths, METRICS, max_side, pool)
        for working_size in working_sizes:
            size = working_size or colorizers.Colorizer.of(generator).working_size
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


def calibrate(folder, config=None, verbose=1):
    """Calibrate the color strength of the run's generator.keras on its validation photos; returns the gain.

    ``config``: the run's (default: its config.json, with today's defaults for names it lacks).
    """
    folder = runs.folder_of(folder)
    config = {**DEFAULTS, **config} if config else read_run_config(folder)
    generator = colorizers.load_generator(folder / runs.GENERATOR_NAME)
    folders = (config["prepared_dir"], *config["extra_val_dirs"])
    photos = calibration_photos(validation_originals(config["prepared_dir"], config["extra_val_dirs"]))  # as users see them
    originals = count_source_files(photos, folders)
    sizes = [int(config["image_size"] * factor) for factor in config["working_size_factors"]]
    chosen, table = calibrate_strength(generator, photos, margin_db=config["strength_margin_db"],
                                       margin_ciede=config["strength_margin_ciede"], working_sizes=sizes)
    runs.write_gain(folder, chosen["gain"], working_size=chosen["working_size"], rule=STRENGTH_RULE,
                    photos=len(photos), originals=originals, table=table)
    if verbose:
        print(f"[colorgan] color strength calibrated on {len(photos)} validation photos ({originals} at their "
              f"original size): gain {chosen['gain']} at working size {chosen['working_size']}", flush=True)
        print(f"[colorgan] {folder.name}: {verdict(chosen, len(photos))}", flush=True)
    return chosen["gain"]
