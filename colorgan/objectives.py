"""What the generator is asked to learn: a loss on ab, as regression or as classification over ab bins.

Regression (``l1`` as in pix2pix, ``huber``, ``l2``): the generator outputs ab directly (tanh).
L1 and L2 are minimised by the median and the mean of the colors a gray patch could have, so an
object that may be red or blue comes out brownish: the sepia of regression colorizers.

Classification (``classification``, Zhang, Isola and Efros 2016, "Colorful Image Colorization"):
the ab plane is cut into 10 x 10 bins (those inside the sRGB gamut, ~300), the generator predicts a
distribution over them per pixel, trained with cross-entropy against a soft encoding of the true
ab (Gaussian, sigma 5 around the true color), each pixel weighted by how rare its color is
(class rebalancing: rare saturated colors count as much as common dull ones). The distribution is
decoded to ab by the annealed mean: softmax(logits / T) then the expectation of the bin centres,
T = 0.38 in the paper (T = 1: the mean, cautious; T -> 0: the mode, vivid but patchy).

Rebalanced L1 (``l1_rebalanced``): the paper's L1 on the tanh output, each pixel weighted by the
same rarity weights as the classification loss (the bin of its true color). The weighted median
it converges to leans toward the rarer, saturated colors a gray patch could have, where plain L1
settles on the common brownish ones; the ``rebalance`` mix sets how hard (1: plain L1).

All values here are in the model's units (ab / 110, see ``colorgan.color``).
"""

import numpy as np

from colorgan import color

OBJECTIVES = ("l1", "huber", "l2", "classification", "l1_rebalanced")
REBALANCED = ("classification", "l1_rebalanced")  # the objectives that weigh pixels by their color's rarity
BIN_SIZE = 10.0  # Zhang et al.: grid size 10 in ab units
SOFT_SIGMA = 5.0  # Zhang et al.: Gaussian soft-encoding, sigma 5
REBALANCE_LAMBDA = 0.5  # Zhang et al.: mix the (smoothed) color prior with a uniform one, lambda = 1/2
DECODE_TEMPERATURE = 0.38  # Zhang et al.: the annealed-mean temperature
HUBER_DELTA = 0.05  # in model units (5.5 ab units): L2 for small errors, L1 beyond


def check_objective(name):
    if name not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {name!r}")
    return name


def gamut_bins(bin_size=BIN_SIZE):
    """Centres (Q, 2) of the ab bins that some sRGB color falls in, in model units [-1, 1], sorted.

    Every 8-bit-level color on a 64-level-per-channel grid is converted to Lab; a bin is kept when
    any of them lands in it (313 bins at size 10 with finer sampling in the paper; ~300 here).
    """
    levels = np.linspace(0.0, 1.0, 64, dtype=np.float32)
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 1, 3)
    ab = color.rgb_to_lab_np(rgb)[:, 0, 1:]
    index = np.unique(np.floor(ab / bin_size).astype(np.int64), axis=0)
    centres = (index + 0.5) * bin_size / color.AB_SCALE
    return centres[np.all(np.abs(centres) <= 1.0, axis=1)].astype(np.float32)


def soft_encode(ab, centres, sigma=SOFT_SIGMA):
    """Soft targets: ab (..., 2) in model units -> (..., Q) Gaussian weights over the bins, summing to 1."""
    import tensorflow as tf

    sigma = sigma / color.AB_SCALE
    centres = tf.constant(centres)
    # |ab - c|^2 = |ab|^2 - 2 ab.c + |c|^2: one small matmul instead of a (..., Q, 2) broadcast.
    distances = (tf.reduce_sum(tf.square(ab), axis=-1, keepdims=True) - 2.0 * tf.tensordot(ab, centres, [[-1], [1]])
                 + tf.reduce_sum(tf.square(centres), axis=-1))
    # Subtract the nearest bin's distance first so far-off colors do not underflow to all zeros.
    logits = -(distances - tf.reduce_min(distances, axis=-1, keepdims=True)) / (2.0 * sigma**2)
    return tf.nn.softmax(logits, axis=-1)


def color_prior(ab_batches, centres, sigma=SOFT_SIGMA):
    """Empirical distribution (Q,) of the training colors over the bins, smoothed by a Gaussian (sigma in ab units).

    Args:
        ab_batches: iterable of ab arrays (..., 2) in model units (e.g. a few hundred training batches).
    """
    cells = grid_bins(centres)
    counts = np.zeros(len(centres), np.float64)
    for ab in ab_batches:
        counts += np.bincount(cells[cell_of(np.asarray(ab, np.float32).reshape(-1, 2), len(cells))],
                              minlength=len(centres))
    if counts.sum() == 0:
        raise ValueError("no pixels to estimate the color prior from")
    prior = counts / counts.sum()
    # Smooth over neighbouring bins (Zhang et al. smooth the prior with a Gaussian, sigma 5).
    squared = ((centres[:, None, :] - centres[None]) ** 2).sum(-1) * color.AB_SCALE**2
    kernel = np.exp(-squared / (2 * sigma**2))
    prior = kernel @ prior
    return prior / prior.sum()


def rebalancing_weights(prior, mix=REBALANCE_LAMBDA):
    """Per-bin loss weights w = 1 / ((1 - mix) * prior + mix / Q), scaled so the prior's mean weight is 1."""
    prior = np.asarray(prior, np.float64)
    weights = 1.0 / ((1.0 - mix) * prior + mix / len(prior))
    return (weights / np.sum(prior * weights)).astype(np.float32)


def grid_bins(centres, bin_size=BIN_SIZE):
    """(G, G) the gamut bin of each cell of the whole ab grid (cells outside the gamut: the nearest bin).

    The gamut bins are cells of this grid (``gamut_bins``), so a color's bin is found by flooring
    (``cell_of``), with no distance to every bin per pixel; a color on a cell border goes up.
    """
    cells = int(round(2 * color.AB_SCALE / bin_size))  # 22 cells of 10 across [-110, 110]
    grid = (np.arange(cells) - cells / 2 + 0.5) * bin_size / color.AB_SCALE
    points = np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1).reshape(-1, 1, 2)
    return np.argmin(((points - np.asarray(centres)[None]) ** 2).sum(-1), axis=1).reshape(cells, cells)


def cell_of(ab, cells, bin_size=BIN_SIZE, ops=np):
    """ab (..., 2) in model units -> (..., 2) integer grid cell, clipped to the grid (numpy, or ``ops=tf``)."""
    scaled = ops.floor(ab * (color.AB_SCALE / bin_size)) + cells // 2
    if ops is np:
        return tuple(np.clip(scaled, 0, cells - 1).astype(np.int64).T)
    import tensorflow as tf

    return tf.clip_by_value(tf.cast(scaled, tf.int32), 0, cells - 1)


def weight_table(centres, weights, bin_size=BIN_SIZE):
    """(G, G) lookup table over the ab grid: the weight of each cell's bin (``grid_bins``)."""
    return np.asarray(weights, np.float32)[grid_bins(centres, bin_size)]


def pixel_weights(ab, table):
    """ab (..., 2) in model units -> (...) the weight of each pixel's color bin, from ``weight_table``."""
    import tensorflow as tf

    return tf.gather_nd(tf.constant(table), cell_of(tf.cast(ab, tf.float32), table.shape[0], ops=tf))


def annealed_mean(logits, centres, temperature=DECODE_TEMPERATURE):
    """Logits (..., Q) -> ab (..., 2) in model units: E[centre] under softmax(logits / T) (a convex combination)."""
    import tensorflow as tf

    probabilities = tf.nn.softmax(tf.cast(logits, tf.float32) / temperature, axis=-1)
    return tf.tensordot(probabilities, tf.constant(centres), axes=[[-1], [0]])


def regression_loss(name, ab, generated, table=None):
    """Per-pixel loss (B, H, W) of ``generated`` against ``ab`` for a regression objective.

    ``table``: the ``weight_table`` of ``l1_rebalanced`` (needed by it, ignored by the others).
    """
    import tensorflow as tf

    error = tf.cast(generated, tf.float32) - ab
    if name == "l1":
        return tf.reduce_mean(tf.abs(error), axis=-1)
    if name == "l1_rebalanced":
        if table is None:
            raise ValueError("l1_rebalanced needs the weight table of the run's color prior")
        return tf.reduce_mean(tf.abs(error), axis=-1) * pixel_weights(ab, table)
    if name == "l2":
        return tf.reduce_mean(tf.square(error), axis=-1)
    if name == "huber":
        absolute = tf.abs(error)
        quadratic = tf.minimum(absolute, HUBER_DELTA)
        # 0.5 x^2 / delta inside, |x| - delta / 2 outside: the same slope as L1 for big errors.
        return tf.reduce_mean((0.5 * quadratic**2 + HUBER_DELTA * (absolute - quadratic)) / HUBER_DELTA, axis=-1)
    raise ValueError(f"not a regression objective: {name!r}")


def classification_loss(ab, logits, centres, weights):
    """Rebalanced cross-entropy (B, h, w) of the bin logits against the soft-encoded true ab.

    The logits may be coarser than ab (the head predicts at half size): ab is average-pooled to
    the logits' size first.
    """
    import tensorflow as tf

    factor = ab.shape[1] // logits.shape[1] if ab.shape[1] and logits.shape[1] else 1
    if factor > 1:
        ab = tf.nn.avg_pool2d(ab, factor, factor, "VALID")
    targets = soft_encode(ab, centres)  # (B, h, w, Q)
    log_probabilities = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
    cross_entropy = -tf.reduce_sum(targets * log_probabilities, axis=-1)
    pixel_weights = tf.gather(tf.constant(weights), tf.argmax(targets, axis=-1))  # the nearest bin's weight
    return cross_entropy * pixel_weights
