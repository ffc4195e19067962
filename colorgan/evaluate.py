"""Score a generator on a folder of color photos, always beside the gray baseline.

Each photo is reduced to its grayscale version (its own L, no color), colorized, and compared
with the real photo. The gray version itself is scored as a prediction on the same photos:
PSNR and SSIM reward gray output (a wrong but plausible color costs more than no color), so a
generator's numbers mean something only next to gray's.
"""

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from colorgan import color, colorizers, images, inference, metrics, runs
from colorgan.data.layout import split_folder, validation_splits

LABELS = {
    "psnr": "PSNR (dB)", "ssim": "SSIM", "ciede2000": "CIEDE2000", "auc": "ab AUC (Zhang)", "ab_mae": "ab MAE",
    "colorfulness": "colorfulness", "colorfulness_gap": "colorfulness gap", "ab_mse": "ab MSE (Lab)",
}


def gray_version(rgb):
    """uint8 RGB -> the same photo with its color removed (a = b = 0, its own L), uint8 RGB."""
    lightness = color.lightness_u8(rgb)
    no_color = np.zeros_like(lightness)
    return color.lab_to_rgb_u8(lightness, no_color, no_color)


def default_data_dirs(model_path):
    """The validation folders of the run that produced ``model_path`` (from the config.json beside it):
    ``layout.validation_splits``' folders (<prepared_dir>/val first; those of extra_val_dirs where present)."""
    config = runs.read_config(model_path)
    if not config:
        raise ValueError(f"no config.json beside {model_path} to find its validation photos; pass --data DIR")
    prepared_dir = config.get("prepared_dir")
    if not prepared_dir:
        raise ValueError(f"{Path(model_path).with_name('config.json')} names no prepared_dir; pass --data DIR")
    folders = [split_folder(folder, split) for folder, split in
               validation_splits(prepared_dir, config.get("extra_val_dirs", []))]
    return [folders[0], *(folder for folder in folders[1:] if folder.is_dir())]


def list_photos(data_dirs, max_images=None, seed=0):
    """Image files under ``data_dirs`` (a folder or a list of them; recursive), sorted in each; a seeded subset
    of ``max_images`` if given."""
    folders = [Path(data_dirs)] if isinstance(data_dirs, (str, Path)) else [Path(folder) for folder in data_dirs]
    paths = []
    for data_dir in folders:
        if not data_dir.is_dir():
            raise ValueError(f"evaluation folder not found: {data_dir}")
        paths += images.find_images(data_dir)
    if not paths:
        raise ValueError(f"no image files in {', '.join(map(str, folders))}")
    return seeded_subset(paths, max_images, seed)


def seeded_subset(items, count, seed=0):
    """``count`` of ``items`` chosen by ``seed``, in their order; all of them when ``count`` is 0, None or more."""
    if not count or count >= len(items):
        return list(items)
    chosen = np.random.default_rng(seed).choice(len(items), size=count, replace=False)
    return [items[index] for index in sorted(chosen)]


def evaluate(colorizer, photo_paths, working_size=None, batch_size=8, progress=None, color_strength=1.0):
    """Colorize the gray versions of ``photo_paths`` and score them and gray itself against the real photos.

    Args:
        progress: optional callable(n) told how many photos were just done (a tqdm ``update``).
        colorizer, color_strength, working_size: as ``inference.colorize_batch`` (default: the calibrated colors).

    Returns:
        {"n_images", "ab_explained" (1 - ab MSE / gray's), "model": {metric: mean}, "gray": {metric: mean},
        "real_colorfulness",
        "per_image": [{"file", "model": {...}, "gray": {...}}], "skipped": [{"file", "reason"}]}.
    """
    gain = colorizers.Colorizer.of(colorizer).gain_at(color_strength)
    return evaluate_gains(colorizer, photo_paths, [gain], working_size, batch_size, progress)[0]


def evaluate_gains(colorizer, photo_paths, gains, working_size=None, batch_size=8, progress=None,
                   metric_names=None, max_side=None, workers=None):
    """``evaluate`` at each gain on ab (not scaled by the colorizer's calibrated one) -> one result per gain.

    The photos are read, the generator run and gray scored once; only joining and scoring repeat per
    gain, since a gain scales the network's ab after the network (as ``inference.join`` applies it).
    ``metric_names``: the metrics to compute (default: all; ``ab_mse`` is always among them).
    ``max_side``: photos longer than this are first reduced to it (area averaging), so a folder of
    camera originals costs what photos of that size do (default: as they are). ``workers``: threads
    scoring photos side by side (default: one per core; the numbers do not depend on it).
    Photos go through in batches of ``batch_size``: any number of them fits in memory.
    """
    photo_paths = list(photo_paths)
    scored = Truths(metric_names)
    per_gain = [[] for _ in gains]
    with scoring_pool(workers) as pool:
        for start in range(0, len(photo_paths), batch_size):
            batch = Truths.read(photo_paths[start:start + batch_size], metric_names, max_side, pool)
            predicted = inference.predict_ab(colorizer, batch.grays, working_size=working_size, batch_size=batch_size)
            for scores, more in zip(per_gain, batch.score(predicted, gains, pool), strict=True):
                scores += more
            scored.extend(batch)  # names and gray's scores only: the photos themselves are let go
            if progress is not None:
                progress(len(photo_paths[start:start + batch_size]))
    return scored.results(per_gain, len(photo_paths))


def scoring_pool(workers=None):
    """Threads that score photos side by side (default: one per core). Scoring is NumPy and OpenCV work
    that releases the GIL; the numbers do not depend on the number of threads."""
    return ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1)


class Truths:
    """Real photos read for scoring, with what every scoring of them needs, computed once: the truth in
    Lab, the gray version, gray's scores and the truth's colorfulness. ``score`` joins a generator's ab
    to each photo's L at several gains and scores them; ``results`` averages per gain beside gray.

    ``Truths.read`` holds the photos in memory: the calibration reads its bounded set (at most
    ``calibration.MAX_PHOTOS``, ``MAX_SIDE`` long) once and scores it at every working size and gain;
    ``evaluate_gains`` streams any number of photos through it a batch at a time.
    """

    def __init__(self, metric_names=None):
        """No photos yet (``read`` reads them); ``metric_names``: as ``evaluate_gains``."""
        self.metric_names = None if metric_names is None else tuple(dict.fromkeys([*metric_names, "ab_mse"]))
        self.names, self.photos, self.grays, self.labs, self.skipped = [], [], [], [], []
        self.gray_scores = []  # per photo: (gray's scores, the truth's colorfulness)

    @classmethod
    def read(cls, photo_paths, metric_names=None, max_side=None, pool=None):
        """Read ``photo_paths`` (unreadable ones are listed in ``skipped``, with the reason)."""
        truths = cls(metric_names)
        for path in photo_paths:
            try:
                truths.photos.append(_at_most(images.read_rgb(path), max_side))
                truths.names.append(str(path))
            except images.ImageError as error:
                truths.skipped.append({"file": str(path), "reason": error.reason})
        truths.grays = [gray_version(photo) for photo in truths.photos]
        truths.labs = list(_map(pool, metrics.to_lab, truths.photos))  # once per photo, not per gain or size
        truths.gray_scores = list(_map(pool, truths._gray_scores, truths.photos, truths.grays, truths.labs))
        return truths

    def _gray_scores(self, photo, gray, lab):
        return metrics.image_metrics(gray, photo, self.metric_names, lab), metrics.colorfulness(photo)

    def score(self, predicted, gains, pool=None):
        """``predicted``: ``inference.predict_ab`` of ``grays`` -> for each gain, each photo's scores."""
        def at_gains(photo, lab, prediction):
            lightness, ab = prediction
            return [metrics.image_metrics(inference.join(lightness, ab, gain), photo, self.metric_names, lab)
                    for gain in gains]

        per_photo = list(_map(pool, at_gains, self.photos, self.labs, predicted))
        return [[scores[index] for scores in per_photo] for index in range(len(gains))]

    def extend(self, other):
        """Add ``other``'s names, gray scores and skipped files (not its photos)."""
        self.names += other.names
        self.gray_scores += other.gray_scores
        self.skipped += other.skipped

    def results(self, per_gain, tried):
        """Per gain: the averages beside gray's, and every photo's scores (``evaluate``'s result)."""
        if not self.names:
            raise ValueError(f"none of the {tried} photos could be read: {self.skipped[:3]}")
        gray = metrics.average([scores for scores, _ in self.gray_scores])
        real_colorfulness = float(np.mean([colorfulness for _, colorfulness in self.gray_scores]))
        results = []
        for scores in per_gain:
            model = metrics.average(scores)
            results.append({
                "n_images": len(self.names),
                "ab_explained": metrics.ab_explained(model["ab_mse"], gray["ab_mse"]),
                "model": model,
                "gray": gray,
                "real_colorfulness": real_colorfulness,
                "per_image": [{"file": name, "model": each, "gray": gray_each, "real_colorfulness": real}
                              for name, each, (gray_each, real) in zip(self.names, scores, self.gray_scores,
                                                                       strict=True)],
                "skipped": self.skipped,
            })
        return results


def _map(pool, function, *iterables):
    return pool.map(function, *iterables) if pool is not None else map(function, *iterables)


def _at_most(rgb, max_side):
    """``rgb`` reduced (area averaging) so its long side is at most ``max_side`` (None: unchanged)."""
    height, width = rgb.shape[:2]
    if max_side is None or max(height, width) <= max_side:
        return rgb
    scale = max_side / max(height, width)
    return cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)


def gray_wins(result):
    """Metric names where the gray input scores better than the model (the ones that reward gray)."""
    model, gray = result["model"], result["gray"]
    wins = {"higher": lambda name: gray[name] > model[name], "lower": lambda name: gray[name] < model[name],
            "near 0": lambda name: abs(gray[name]) < abs(model[name]),
            "near real": lambda name: abs(gray[name] - result["real_colorfulness"])
            < abs(model[name] - result["real_colorfulness"])}
    return [name for name, better in metrics.BETTER.items() if wins[better](name)]


def format_table(result):
    """The averages as a text table: model beside gray, which is better, and what that means."""
    winners = set(gray_wins(result))
    lines = [f"{result['n_images']} photos; the gray baseline is the gray input itself, scored as a prediction",
             f"{'metric':<18}{'better':<11}{'model':>9}{'gray':>9}   better here"]
    for name, better in metrics.BETTER.items():
        model, gray = result["model"][name], result["gray"][name]
        lines.append(f"{LABELS[name]:<18}{better:<11}{model:>9.3f}{gray:>9.3f}   "
                     + ("GRAY" if name in winners else "model"))
    lines.append(f"{'(real photos)':<18}{'':<11}{'colorfulness':>18} {result['real_colorfulness']:.3f}")
    lines.append(f"{'ab variance explained':<29}{result['ab_explained']:>9.3f}   (0 = gray, 1 = the true colors)")
    if winners & {"psnr", "ssim"}:
        lines.append("Note: gray beats the model on " + " and ".join(LABELS[n] for n in ("psnr", "ssim")
                                                                   if n in winners)
                     + ": these scores reward cautious, gray output; judge color by AUC, colorfulness and by eye.")
    else:
        lines.append("Note: PSNR and SSIM favour gray output; here the model beats gray even on them.")
    return "\n".join(lines)


def write_json(result, path, **extra):
    """Save ``result`` (plus ``extra`` keys such as the model path) as indented JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**extra, **result}, indent=2))
    return path

