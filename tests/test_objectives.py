"""Objectives: regression losses, ab bins, soft encoding, rebalancing, and the classification head's decoding."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorgan import color, models, objectives


@pytest.fixture(scope="module")
def centres():
    return objectives.gamut_bins()


def test_gamut_bins_cover_the_srgb_colors_on_a_10_grid(centres):
    assert 200 < len(centres) < 330 and np.all(np.abs(centres) <= 1.0)
    steps = np.unique(np.round(np.diff(np.unique(centres[:, 0])) * color.AB_SCALE, 3))
    assert steps.tolist() == [10.0]
    # Every color of a random sample of RGB colors lies in (within half a bin of) some bin.
    rgb = np.random.default_rng(0).uniform(0, 1, (2000, 1, 3)).astype("float32")
    ab = color.rgb_to_lab_np(rgb)[:, 0, 1:] / color.AB_SCALE
    nearest = np.abs(ab[:, None] - centres[None]).max(-1).min(1)
    assert nearest.max() <= 5.0 / color.AB_SCALE + 1e-6


def test_soft_encoding_sums_to_one_and_peaks_at_the_nearest_bin(centres):
    ab = tf.constant(np.random.default_rng(1).uniform(-0.6, 0.6, (3, 4, 4, 2)).astype("float32"))
    targets = objectives.soft_encode(ab, centres).numpy()
    assert targets.shape == (3, 4, 4, len(centres))
    np.testing.assert_allclose(targets.sum(-1), 1.0, rtol=1e-5)
    nearest = np.argmin(((ab.numpy()[..., None, :] - centres) ** 2).sum(-1), axis=-1)
    np.testing.assert_array_equal(targets.argmax(-1), nearest)


def test_rebalancing_weights_favour_rare_colors_and_average_one_under_the_prior(centres):
    prior = objectives.color_prior([np.zeros((100, 2)) + 0.01, np.full((10, 2), 0.4)], centres)
    np.testing.assert_allclose(prior.sum(), 1.0)
    weights = objectives.rebalancing_weights(prior)
    np.testing.assert_allclose(np.sum(prior * weights), 1.0, rtol=1e-5)
    common = np.argmin(((centres - 0.01) ** 2).sum(-1))
    rare = np.argmin(((centres - 0.4) ** 2).sum(-1))
    assert weights[rare] > weights[common]
    np.testing.assert_allclose(objectives.rebalancing_weights(prior, mix=1.0), 1.0, rtol=1e-5)  # no rebalancing


def test_the_classification_head_decodes_to_ab_in_range_and_saves_as_plain_keras(centres, tmp_path):
    generator = models.build_generator(32, 8, bin_centres=centres, temperature=0.38)
    assert generator.output_shape == (None, None, None, 2)
    np.testing.assert_allclose(models.bin_centres(generator), centres)
    assert models.bin_centres(models.build_generator(32, 8)) is None
    # Big random logits: the annealed mean is still a convex combination of centres, inside [-1, 1].
    logits_layer = generator.get_layer("ab_logits")
    logits_layer.kernel.assign(np.random.default_rng(0).normal(0, 3, logits_layer.kernel.shape))
    ab = generator(np.random.default_rng(1).uniform(-1, 1, (2, 64, 96, 1)).astype("float32")).numpy()
    assert ab.shape == (2, 64, 96, 2) and np.abs(ab).max() <= 1.0 + 1e-6 and ab.std() > 0.01
    generator.save(tmp_path / "g.keras")
    reloaded = keras.models.load_model(tmp_path / "g.keras", safe_mode=True)
    x = np.random.default_rng(2).uniform(-1, 1, (1, 32, 32, 1)).astype("float32")
    np.testing.assert_allclose(reloaded(x).numpy(), generator(x).numpy(), atol=1e-6)


def test_annealed_mean_moves_from_the_mean_to_the_mode(centres):
    logits = np.full(len(centres), -5.0, np.float32)
    mode, other = 10, 200
    logits[mode], logits[other] = 2.0, 1.5
    mean = objectives.annealed_mean(logits, centres, temperature=1.0).numpy()
    sharp = objectives.annealed_mean(logits, centres, temperature=0.01).numpy()
    np.testing.assert_allclose(sharp, centres[mode], atol=1e-4)
    assert np.linalg.norm(mean - centres[mode]) > 0.05


def test_regression_losses():
    ab = tf.zeros((1, 1, 2, 2))
    generated = tf.constant([[[[0.02, 0.02], [0.5, 0.5]]]])
    np.testing.assert_allclose(objectives.regression_loss("l1", ab, generated).numpy(), [[[0.02, 0.5]]], rtol=1e-6)
    np.testing.assert_allclose(objectives.regression_loss("l2", ab, generated).numpy(), [[[0.0004, 0.25]]], rtol=1e-5)
    delta = objectives.HUBER_DELTA  # x^2 / (2 delta) inside delta, |x| - delta / 2 beyond: L1's slope
    np.testing.assert_allclose(objectives.regression_loss("huber", ab, generated).numpy(),
                               [[[0.5 * 0.02**2 / delta, 0.5 - delta / 2]]], rtol=1e-5)
    with pytest.raises(ValueError, match="objective"):
        objectives.check_objective("l3")


def test_pixel_weights_are_the_weight_of_each_colors_own_bin(centres):
    weights = np.random.default_rng(3).uniform(0.2, 5.0, len(centres)).astype("float32")
    table = objectives.weight_table(centres, weights)
    # Real colors (inside the sRGB gamut), so each lies in a gamut bin: the nearest centre is its own.
    rgb = np.random.default_rng(4).uniform(0, 1, (3000, 1, 3)).astype("float32")
    ab = color.rgb_to_lab_np(rgb)[:, 0, 1:] / color.AB_SCALE
    nearest = np.argmin(((ab[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(objectives.pixel_weights(tf.constant(ab), table).numpy(), weights[nearest])
    # The extremes of the model's range fall in the edge cells, not outside the table.
    edges = objectives.pixel_weights(tf.constant([[1.0, 1.0], [-1.0, -1.0]]), table).numpy()
    assert np.isin(edges, weights).all()


def test_rebalanced_l1_is_l1_times_the_true_colors_weight(centres):
    ab = tf.constant([[[[0.0, 0.0], [0.4, -0.4]]]])
    generated = tf.constant([[[[0.1, 0.1], [0.0, 0.0]]]])
    weights = np.ones(len(centres), np.float32)
    rare = np.argmin(((centres - [0.4, -0.4]) ** 2).sum(-1))
    weights[rare] = 7.0
    table = objectives.weight_table(centres, weights)
    loss = objectives.regression_loss("l1_rebalanced", ab, generated, table).numpy()
    np.testing.assert_allclose(loss, [[[0.1, 0.4 * 7.0]]], rtol=1e-6)
    with pytest.raises(ValueError, match="weight table"):
        objectives.regression_loss("l1_rebalanced", ab, generated)


def test_rebalancing_moves_the_l1_optimum_from_the_common_color_toward_the_rare_ones(centres):
    """Three gray pixels, one pale and one deep color: L1's best single answer is gray (the median);
    rebalancing gives each distinct color about the same total weight, so the weighted median is the
    middle color, the pale one."""
    ab = tf.constant([[[[0.0, 0.0]] * 3 + [[0.0, 0.3], [0.0, 0.5]]]])  # (1, 1, 5, 2)
    prior = objectives.color_prior([ab.numpy()], centres)
    table = objectives.weight_table(centres, objectives.rebalancing_weights(prior, mix=0.5))
    gray, pale, deep = objectives.pixel_weights(ab, table).numpy()[0, 0, 2:]
    assert pale > 2 * gray and deep > 2 * gray

    def best_constant(name, table=None):
        guess = tf.Variable([0.1, 0.1])
        optimizer = keras.optimizers.SGD(0.005)
        for _ in range(600):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(objectives.regression_loss(name, ab, tf.broadcast_to(guess, ab.shape), table))
            optimizer.apply([tape.gradient(loss, guess)], [guess])
        return guess.numpy()

    np.testing.assert_allclose(best_constant("l1"), [0.0, 0.0], atol=0.02)
    np.testing.assert_allclose(best_constant("l1_rebalanced", table), [0.0, 0.3], atol=0.02)
