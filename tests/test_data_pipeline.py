"""The tf.data pipeline: shapes, dtypes and ranges; the Lab values match scikit-image; jitter vs evaluation."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from skimage.color import rgb2lab

from colorgan.data import list_images, make_dataset, prepare
from colorgan.data.pipeline import JITTER_SCALE, _compiled_crop_to_model, center_resize, jitter_window, random_jitter
from colorgan.data.stats import ab_histogram


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """scikit-image's color photos prepared at 64 px (a few in val with val_fraction 0.3)."""
    out = tmp_path_factory.mktemp("prepared")
    summary = prepare([], out, size=64, val_fraction=0.3, workers=1, progress=False)
    assert summary["train"] >= 2 and summary["val"] >= 1
    return out


def _batches(dataset):
    return [(L.numpy(), ab.numpy()) for L, ab in dataset]


@pytest.mark.parametrize("image_size", [32, 512])
def test_batches_have_the_contract_shapes_dtypes_and_ranges(prepared, image_size):
    count = len(list_images(prepared, "train"))
    batches = _batches(make_dataset(prepared, "train", image_size=image_size, batch_size=4, seed=0))
    assert sum(L.shape[0] for L, _ in batches) == count  # every photo once per epoch
    for L, ab in batches:
        assert L.dtype == np.float32 and ab.dtype == np.float32
        assert L.shape[1:] == (image_size, image_size, 1) and ab.shape[1:] == (image_size, image_size, 2)
        assert -1.0 <= L.min() and L.max() <= 1.0 and -1.0 <= ab.min() and ab.max() <= 1.0
        assert L.std() > 0.05 and np.abs(ab).max() > 0.05  # real photos, not blank crops


def test_evaluation_batches_match_scikit_image_lab_of_the_center_crop(prepared):
    path = list_images(prepared, "val")[0]
    rgb = np.asarray(Image.open(path).convert("RGB"))
    height, width = rgb.shape[:2]
    top, left = (height - 64) // 2, (width - 64) // 2
    expected = rgb2lab(rgb[top:top + 64, left:left + 64])  # stored short side is 64: no resize, a plain crop

    L, ab = next(iter(make_dataset(prepared, "val", image_size=64, batch_size=1, shuffle=False)))
    assert np.abs(L[0, ..., 0].numpy() - (expected[..., 0] / 50 - 1)).max() < 2e-3
    assert np.abs(ab[0].numpy() - np.clip(expected[..., 1:] / 110, -1, 1)).max() < 2e-3


def test_training_batches_vary_while_evaluation_batches_repeat(prepared):
    training = make_dataset(prepared, "train", image_size=48, batch_size=64, seed=1)
    first, second = _batches(training), _batches(training)
    assert not np.array_equal(first[0][1], second[0][1])  # new crops, flips and order every epoch

    evaluation = make_dataset(prepared, "val", image_size=48, batch_size=64, shuffle=False)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(_batches(evaluation), _batches(evaluation), strict=True))
    # training=None follows the split; training=False on train is deterministic too
    fixed = make_dataset(prepared, "train", image_size=48, batch_size=64, training=False, shuffle=False)
    assert np.array_equal(_batches(fixed)[0][0], _batches(fixed)[0][0])


def test_same_seed_same_batches_and_cache_gives_the_same_values(prepared):
    one = _batches(make_dataset(prepared, "train", image_size=32, batch_size=8, seed=7))
    two = _batches(make_dataset(prepared, "train", image_size=32, batch_size=8, seed=7, cache=True))
    assert np.array_equal(one[0][1], two[0][1])


def test_jitter_gives_different_crops_and_evaluation_one_crop(sample_photos):
    photo = tf.constant(sample_photos["chelsea"][:200, :280])  # uint8 (200, 280, 3)
    crops = [random_jitter(photo, 64, tf.constant([0, i], tf.int64)) for i in range(8)]
    for L, ab in crops:
        assert L.shape == (64, 64, 1) and ab.shape == (64, 64, 2)
        assert -1.0 <= float(tf.reduce_min(L)) and float(tf.reduce_max(L)) <= 1.0
    assert len({L.numpy().tobytes() for L, _ in crops}) == 8
    rgb = tf.random.uniform((64, 64, 3), 0, 255, seed=0)
    plain, mirrored = _compiled_crop_to_model()(rgb, False), _compiled_crop_to_model()(rgb, True)
    assert np.allclose(mirrored[1].numpy(), plain[1].numpy()[:, ::-1], atol=1e-5)  # the flip mirrors left-right
    L, ab = center_resize(photo, 64)
    expected = rgb2lab(np.asarray(Image.fromarray(sample_photos["chelsea"][:200, 40:240]).resize((64, 64),
                                                                                                   Image.BILINEAR)))
    assert np.abs(L.numpy()[..., 0] - (expected[..., 0] / 50 - 1)).mean() < 0.02  # the center square
    assert np.array_equal(L.numpy(), center_resize(photo, 64)[0].numpy())


def test_max_zoom_bounds_the_crop_side_between_the_short_side_over_zoom_and_the_short_side(prepared):
    shape = tf.constant([200, 300])
    for max_zoom, smallest in ((JITTER_SCALE, 200 / JITTER_SCALE), (2.0, 100)):
        windows = [jitter_window(shape, tf.constant([1, i], tf.int64), max_zoom) for i in range(200)]
        sides = np.array([int(side) for _, _, side in windows])
        assert sides.max() <= 200 and sides.min() >= int(smallest)
        assert all(0 <= int(top) <= 200 - int(side) and 0 <= int(left) <= 300 - int(side) for top, left, side in windows)
        if max_zoom == 2.0:
            assert sides.min() < 120 and np.median(sides) < 150  # zooms in far more than pix2pix's jitter
        else:
            assert sides.min() > 170
    L, ab = next(iter(make_dataset(prepared, "train", image_size=32, batch_size=2, max_zoom=2.0, seed=0)))
    assert L.shape == (2, 32, 32, 1) and ab.shape == (2, 32, 32, 2)
    with pytest.raises(ValueError, match="max_zoom"):
        make_dataset(prepared, max_zoom=0.5)


def test_stored_photos_smaller_than_the_crop_are_upscaled(tmp_path, sample_photos):
    prepare([], tmp_path, size=32, val_fraction=0.0, workers=1, progress=False)
    L, ab = next(iter(make_dataset(tmp_path, "train", image_size=96, batch_size=2)))
    assert L.shape == (2, 96, 96, 1) and ab.shape == (2, 96, 96, 2)


def test_bad_arguments_raise_value_errors(prepared, tmp_path):
    with pytest.raises(ValueError, match="image_size"):
        make_dataset(prepared, image_size=16)
    with pytest.raises(ValueError, match="does not exist"):
        make_dataset(tmp_path / "nothing")
    with pytest.raises(ValueError, match="split"):
        list_images(prepared, "test")
    (tmp_path / "train").mkdir()
    with pytest.raises(ValueError, match="no images"):
        make_dataset(tmp_path, "train")


def test_ab_histogram_counts_strided_pixels_in_lab_units():
    ab = tf.concat([tf.fill((2, 8, 8, 1), 0.5), tf.fill((2, 8, 8, 1), -0.25)], axis=-1)  # a = 55, b = -27.5
    counts, edges = ab_histogram([(None, ab)], bins=44, stride=4)
    assert counts.sum() == 2 * 2 * 2  # stride 4 keeps 2 x 2 pixels of each 8 x 8 image
    a_bin, b_bin = np.searchsorted(edges, 55.0, "right") - 1, np.searchsorted(edges, -27.5, "right") - 1
    assert counts[a_bin, b_bin] == 8 and edges[0] == -110 and edges[-1] == 110
