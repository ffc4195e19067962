"""What a prepared dataset holds: the distribution of its colors."""

import numpy as np

from colorgan.color import AB_SCALE


def ab_histogram(dataset, bins=44, stride=4):
    """2-D histogram of (a, b) over every batch of a ``make_dataset`` pipeline.

    Args:
        dataset: yields (L, ab) with ab in [-1, 1], shape (B, S, S, 2).
        bins: bins per axis over [-110, 110] (44 bins = 5 Lab units each).
        stride: keep every ``stride``-th pixel per axis; neighbouring pixels carry nearly the same color.
    Returns:
        (counts, edges): counts (bins, bins) indexed [a, b], edges (bins + 1,) in Lab units.
    """
    edges = np.linspace(-AB_SCALE, AB_SCALE, bins + 1)
    counts = np.zeros((bins, bins), np.int64)
    for _, ab in dataset:
        ab = ab.numpy()[:, ::stride, ::stride].reshape(-1, 2) * AB_SCALE
        counts += np.histogram2d(ab[:, 0], ab[:, 1], bins=[edges, edges])[0].astype(np.int64)
    return counts, edges
