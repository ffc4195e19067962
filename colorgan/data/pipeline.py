"""The tf.data input pipeline: a prepared folder -> batches of (L, ab) in [-1, 1].

One chain: file names -> shuffle -> decode the crop's window (or decode whole photos once and
cache them) -> training jitter or evaluation crop, each ending in (L, ab) -> batch -> prefetch.
"""

import functools

import tensorflow as tf

from colorgan import color
from colorgan.data.layout import list_images

MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 32, 512
# pix2pix's jitter: resize 256 -> 286 then random-crop 256, i.e. up to ~12% larger than the crop.
JITTER_SCALE = 286 / 256
_SHUFFLE_DECODED = 1024  # shuffle buffer when decoded images are cached (file names shuffle fully)


def decode_image(path):
    """Read and decode one image file -> uint8 (H, W, 3). JPEG, PNG, BMP and GIF (first frame)."""
    contents = tf.io.read_file(path)
    # TF's JPEG default is libjpeg's fast inexact DCT (pixels off by up to ~10 levels); the
    # accurate one decodes exactly what preparation wrote, at the same speed.
    image = tf.cond(tf.io.is_jpeg(contents),
                    lambda: tf.io.decode_jpeg(contents, channels=3, dct_method="INTEGER_ACCURATE"),
                    lambda: tf.io.decode_image(contents, channels=3, expand_animations=False))
    image.set_shape([None, None, 3])
    return image


def read_window(path, window):
    """Decode only a square window of an image file -> uint8 (side, side, 3).

    ``window(shape)`` maps the photo's (height, width) to (top, left, side). JPEGs are read
    with the header's size and decoded inside the window only; other formats fully, then cropped.
    """
    contents = tf.io.read_file(path)

    def jpeg():
        top, left, side = window(tf.image.extract_jpeg_shape(contents)[:2])
        return tf.io.decode_and_crop_jpeg(contents, tf.stack([top, left, side, side]), channels=3,
                                          dct_method="INTEGER_ACCURATE")

    def other():
        image = tf.io.decode_image(contents, channels=3, expand_animations=False)
        return _crop(image, window(tf.shape(image)[:2]))

    image = tf.cond(tf.io.is_jpeg(contents), jpeg, other)
    image.set_shape([None, None, 3])
    return image


def jitter_window(shape, seed, max_zoom=JITTER_SCALE):
    """Where a training crop comes from: a random square (top, left, side) of a photo of ``shape`` (h, w).

    Resizing the short side to S * scale (scale uniform in [1, ``max_zoom``], pix2pix: 286/256) and
    cutting a random S x S crop is the same as cutting a random square of side short / scale and
    resizing it to S x S, which resamples S x S pixels instead of the whole photo. A larger
    ``max_zoom`` (2: down to half the short side) shows objects at more scales: more distinct crops
    from a small set of photos.
    """
    scale_seed, top_seed, left_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    scale = tf.random.stateless_uniform([], scale_seed, 1.0, max_zoom)
    short_side = tf.reduce_min(shape)
    side = tf.clip_by_value(tf.cast(tf.cast(short_side, tf.float32) / scale, tf.int32), 1, short_side)
    top = tf.random.stateless_uniform([], top_seed, 0, shape[0] - side + 1, dtype=tf.int32)
    left = tf.random.stateless_uniform([], left_seed, 0, shape[1] - side + 1, dtype=tf.int32)
    return top, left, side


def center_window(shape):
    """The evaluation crop: the centered square of side min(h, w) (resizing it to S x S equals
    resizing the short side to S and cutting the center S x S)."""
    side = tf.reduce_min(shape)
    return (shape[0] - side) // 2, (shape[1] - side) // 2, side


def _crop(image, window):
    top, left, side = window
    return image[top:top + side, left:left + side]


def _resize(image, image_size):
    """Square uint8 crop -> float32 RGB in [0, 255], (S, S, 3).

    Antialiased only when shrinking (so 256 px -> 32 px averages pixels instead of aliasing);
    plain bilinear when enlarging, where antialiasing changes nothing and costs 4x.
    """
    shape = [image_size, image_size]
    return tf.cond(tf.shape(image)[0] > image_size, lambda: tf.image.resize(image, shape, antialias=True),
                   lambda: tf.image.resize(image, shape))


def _crop_to_model(rgb, flip):
    """Resized crop, float RGB in [0, 255] (S, S, 3) -> (L, ab) in [-1, 1], mirrored when ``flip``."""
    rgb = tf.where(flip, tf.reverse(rgb, axis=[1]), rgb)
    return color.rgb_to_model(rgb / 255.0)  # rgb_to_lab clips to [0, 1]: resampling may overshoot


@functools.cache
def _compiled_crop_to_model():
    """``_crop_to_model`` compiled with XLA, or traced plainly where XLA is unavailable.

    Scaling, the flip and the ~30 elementwise Lab ops fuse into one pass over a crop that stays
    in cache, which makes the whole pipeline ~2x faster on CPU (same values to ~1e-4).
    """
    compiled = tf.function(_crop_to_model, jit_compile=True)
    try:
        compiled(tf.zeros([2, 2, 3]), tf.constant(True))
    except (tf.errors.OpError, ValueError, NotImplementedError):  # no XLA for this device/build
        return tf.function(_crop_to_model)
    return compiled


def _coin(seed):
    return tf.random.stateless_uniform([], seed) < 0.5


def random_jitter(image, image_size, seed, max_zoom=JITTER_SCALE):
    """Training: a decoded photo -> one randomly jittered (L, ab) crop.

    Random scale-up (<= ``max_zoom``; pix2pix's 256 -> 286 by default), random crop to (S, S),
    random horizontal flip.

    Args:
        image: uint8 (H, W, 3), any size.
        seed: int tensor of shape (2,) for the stateless random ops (reproducible under a fixed seed).
    Returns:
        (L, ab): float32 (S, S, 1) and (S, S, 2), in [-1, 1].
    """
    window_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    crop = _crop(image, jitter_window(tf.shape(image)[:2], window_seed, max_zoom))
    return _compiled_crop_to_model()(_resize(crop, image_size), _coin(flip_seed))


def load_random_crop(path, image_size, seed, max_zoom=JITTER_SCALE):
    """``random_jitter`` straight from a file, decoding only the window the crop needs."""
    window_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    crop = read_window(path, lambda shape: jitter_window(shape, window_seed, max_zoom))
    return _compiled_crop_to_model()(_resize(crop, image_size), _coin(flip_seed))


def center_resize(image, image_size):
    """Evaluation: a decoded photo -> (L, ab) of its center square resized to (S, S); deterministic.

    Returns:
        (L, ab): float32 (S, S, 1) and (S, S, 2), in [-1, 1].
    """
    crop = _crop(image, center_window(tf.shape(image)[:2]))
    return _compiled_crop_to_model()(_resize(crop, image_size), tf.constant(False))


def load_center_crop(path, image_size):
    """``center_resize`` straight from a file, decoding only the center square."""
    return _compiled_crop_to_model()(_resize(read_window(path, center_window), image_size), tf.constant(False))


def make_dataset(prepared_dir, split="train", image_size=256, batch_size=16, training=None, cache=False,
                 shuffle=True, seed=None, extra_dirs=(), max_zoom=JITTER_SCALE, drop_remainder=False):
    """Batches of (L, ab) from one split of a prepared folder.

    Args:
        prepared_dir: folder written by ``colorgan.data.prepare`` (relative to the project root).
        split: "train" or "val".
        image_size: side S of the square crops, 32..512 (stored photos are upscaled if smaller).
        training: random jitter (True) or deterministic center crops (False); None means split == "train".
        cache: keep the decoded photos in memory after the first epoch.
        shuffle: shuffle the order of photos every epoch (evaluation usually passes False).
        seed: makes shuffling and jitter reproducible; None draws fresh randomness.
        extra_dirs: more prepared folders whose photos (both splits) join this split, e.g. a second
            dataset to train on that must not enter the validation split.
        max_zoom: training crops zoom in by a random factor in [1, max_zoom] (see ``jitter_window``).
        drop_remainder: whole batches only (on a cluster every replica needs its share of each batch).
    Returns:
        tf.data.Dataset of (L, ab): float32 (B, S, S, 1) and (B, S, S, 2), both in [-1, 1].
        The last batch may be smaller than ``batch_size`` (unless ``drop_remainder``).
    """
    if not MIN_IMAGE_SIZE <= int(image_size) <= MAX_IMAGE_SIZE:
        raise ValueError(f"image_size must be in [{MIN_IMAGE_SIZE}, {MAX_IMAGE_SIZE}], got {image_size}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    if not 1.0 <= float(max_zoom) <= 8.0:
        raise ValueError(f"max_zoom must be in [1, 8] (1: crops span the short side), got {max_zoom}")
    paths = [str(p) for p in list_images(prepared_dir, split)]
    paths += [str(p) for folder in extra_dirs for part in ("train", "val") for p in list_images(folder, part)]
    if not paths:
        raise ValueError(f"no images in {prepared_dir}/{split}: prepare a dataset with more photos")
    training = split == "train" if training is None else bool(training)
    image_size = int(image_size)

    dataset = tf.data.Dataset.from_tensor_slices(paths)
    if shuffle and not cache:
        dataset = dataset.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)  # names: free, whole set
    if cache:
        # Decode once and keep the uint8 photos; crops are cut from memory every epoch.
        dataset = dataset.map(decode_image, num_parallel_calls=tf.data.AUTOTUNE).cache()
        if shuffle:
            dataset = dataset.shuffle(min(len(paths), _SHUFFLE_DECODED), seed=seed, reshuffle_each_iteration=True)
        jitter, evaluate = random_jitter, center_resize
    else:
        jitter, evaluate = load_random_crop, load_center_crop  # decode only the crop's window

    if training:
        # One stateless seed pair per photo; new pairs every epoch so crops and flips differ.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2, drop_remainder=True)
        dataset = tf.data.Dataset.zip(dataset, seeds).map(lambda image, pair: jitter(image, image_size, pair, float(max_zoom)),
                                                          num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = dataset.map(lambda image: evaluate(image, image_size), num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.batch(int(batch_size), drop_remainder=drop_remainder,
                         num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
