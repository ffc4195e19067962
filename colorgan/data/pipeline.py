"""The tf.data input pipeline: a prepared folder -> batches of (L, ab) in [-1, 1].

One chain: file names -> parallel decode -> (cache) -> shuffle -> training jitter or
evaluation resize -> batch -> Lab conversion on the whole batch -> prefetch.
The Lab conversion runs after ``batch`` because one vectorized op over (B, S, S, 3) is
cheaper than B small ones.
"""

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


def resize_short_side(image, short_side):
    """Resize so the shorter side is ``short_side`` (aspect kept) -> float32 RGB in [0, 1], (h, w, 3).

    Antialiased so downscaling a 256 px photo to 32 px averages pixels instead of aliasing.
    """
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.cast(short_side, tf.float32) / tf.reduce_min(shape)
    new_shape = tf.cast(tf.math.ceil(shape * scale), tf.int32)  # ceil: never a pixel short of the crop
    image = tf.image.resize(image, new_shape, method="bilinear", antialias=True)
    return tf.clip_by_value(image / 255.0, 0.0, 1.0)


def random_jitter(image, image_size, seed):
    """Training augmentation: random scale-up (<= 286/256), random crop to (S, S), random horizontal flip.

    Args:
        image: uint8 (H, W, 3), any size.
        seed: int tensor of shape (2,) for the stateless random ops (reproducible under a fixed seed).
    Returns:
        float32 RGB in [0, 1], (S, S, 3).
    """
    scale_seed, crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    scale = tf.random.stateless_uniform([], scale_seed, 1.0, JITTER_SCALE)
    short_side = tf.cast(tf.math.ceil(image_size * scale), tf.int32)
    image = resize_short_side(image, short_side)
    image = tf.image.stateless_random_crop(image, [image_size, image_size, 3], crop_seed)
    return tf.image.stateless_random_flip_left_right(image, flip_seed)


def center_resize(image, image_size):
    """Evaluation: resize the short side to S and take the center (S, S) crop; deterministic.

    Returns float32 RGB in [0, 1], (S, S, 3).
    """
    image = resize_short_side(image, image_size)
    return tf.image.resize_with_crop_or_pad(image, image_size, image_size)


def make_dataset(prepared_dir, split="train", image_size=256, batch_size=16, training=None, cache=False,
                 shuffle=True, seed=None):
    """Batches of (L, ab) from one split of a prepared folder.

    Args:
        prepared_dir: folder written by ``colorgan.data.prepare`` (relative to the project root).
        split: "train" or "val".
        image_size: side S of the square crops, 32..512 (stored photos are upscaled if smaller).
        training: random jitter (True) or deterministic center crops (False); None means split == "train".
        cache: keep the decoded photos in memory after the first epoch.
        shuffle: shuffle the order of photos every epoch (evaluation usually passes False).
        seed: makes shuffling and jitter reproducible; None draws fresh randomness.
    Returns:
        tf.data.Dataset of (L, ab): float32 (B, S, S, 1) and (B, S, S, 2), both in [-1, 1].
        The last batch may be smaller than ``batch_size``.
    """
    if not MIN_IMAGE_SIZE <= int(image_size) <= MAX_IMAGE_SIZE:
        raise ValueError(f"image_size must be in [{MIN_IMAGE_SIZE}, {MAX_IMAGE_SIZE}], got {image_size}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    paths = [str(p) for p in list_images(prepared_dir, split)]
    if not paths:
        raise ValueError(f"no images in {prepared_dir}/{split}: prepare a dataset with more photos")
    training = split == "train" if training is None else bool(training)
    image_size = int(image_size)

    dataset = tf.data.Dataset.from_tensor_slices(paths)
    if cache:
        # Decode once, keep the uint8 photos, shuffle the decoded photos afterwards.
        dataset = dataset.map(decode_image, num_parallel_calls=tf.data.AUTOTUNE).cache()
        if shuffle:
            dataset = dataset.shuffle(min(len(paths), _SHUFFLE_DECODED), seed=seed, reshuffle_each_iteration=True)
    else:
        # Shuffling file names is free and covers the whole set.
        if shuffle:
            dataset = dataset.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.map(decode_image, num_parallel_calls=tf.data.AUTOTUNE)

    if training:
        # One stateless seed pair per photo; new pairs every epoch so crops and flips differ.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2, drop_remainder=True)
        dataset = tf.data.Dataset.zip(dataset, seeds).map(
            lambda image, pair: random_jitter(image, image_size, pair), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = dataset.map(lambda image: center_resize(image, image_size), num_parallel_calls=tf.data.AUTOTUNE)

    return (dataset
            .batch(int(batch_size), num_parallel_calls=tf.data.AUTOTUNE)
            .map(color.rgb_to_model, num_parallel_calls=tf.data.AUTOTUNE)  # (B,S,S,3) -> (B,S,S,1), (B,S,S,2)
            .prefetch(tf.data.AUTOTUNE))
