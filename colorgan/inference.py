"""Colorize any photo with a Colorizer (``colorizers``): any size, aspect ratio and mode, at full resolution.

The generator only sees L at the colorizer's working size (the long side resized to it, padded by
reflection to a square it accepts); its ab is upsampled to the photo's own size and
joined with the photo's full-resolution L, so detail and brightness are the input's own and
only the color comes from the network. The full-resolution color math is ``color.lightness_u8``
and ``color.lab_to_rgb_u8`` (NumPy/OpenCV), so a 12-megapixel photo takes well under a second.
"""

from pathlib import Path

import cv2
import numpy as np

from colorgan import color, colorizers, images

STRIP_ROWS = 64  # rows of a photo joined with their colors at a time: memory, and a strip's Lab stays in cache


def size_multiple(generator):
    """Height and width the generator accepts are multiples of this (``models.size_multiple``; 1 for a network
    that never downsamples)."""
    if hasattr(generator, "size_multiple"):  # an engines.OnnxGenerator knows it from its graph
        return generator.size_multiple
    from colorgan import models  # a Keras network: Keras is loaded already (the onnx engine never gets here)

    try:
        return models.size_multiple(generator)
    except ValueError:
        return 1  # it never downsamples: any size


def to_rgb_u8(image):
    """A path or an array (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), uint8/uint16/float -> uint8 RGB.

    Files go through ``images.read_rgb`` (every mode, EXIF orientation); float arrays are taken
    as [0, 1], uint16 as [0, 65535]; an alpha channel is composited on white like files are.
    """
    if isinstance(image, (str, Path)):
        return images.read_rgb(image)
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)) or 0 in array.shape:
        raise ValueError(f"expected an image (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got shape {array.shape}")
    if array.dtype == np.uint16:
        array = array.astype(np.float32) / 65535.0
    elif array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.floating) and array.dtype != bool:
            raise ValueError(f"expected uint8, uint16 or float pixels in [0, 1], got dtype {array.dtype}")
        array = np.clip(np.nan_to_num(array.astype(np.float32)), 0.0, 1.0)
    if array.dtype != np.uint8:
        array = color.to_uint8(array)
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=-1)
    if array.shape[-1] == 4:  # composite on white: transparent areas of a scan are paper
        alpha = array[..., 3:].astype(np.float32) / 255.0
        return color.to_uint8((array[..., :3] * alpha + 255.0 * (1.0 - alpha)) / 255.0)
    return np.ascontiguousarray(array)


def _network_side(generator, working_size):
    """Side of the square the generator sees: the working size rounded up to its size multiple."""
    fixed = generator.input_shape[1:3]
    if fixed[0] is not None and fixed[1] is not None:
        return int(fixed[0])  # a generator saved with a fixed input size accepts only that
    multiple = size_multiple(generator)
    return -(-int(working_size) // multiple) * multiple


def _network_input(lightness, working_size, side):
    """Full-resolution L (H, W) -> model-scale L (side, side) and the (h, w) the photo occupies in it."""
    height, width = lightness.shape
    scale = working_size / max(height, width)
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    small = cv2.resize(lightness, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    small = small.reshape(h, w)  # cv2 drops a 1-pixel axis
    # Reflect into the padding (bottom, right) so the network sees image-like content, not a hard edge.
    mode = "reflect" if min(h, w) > 1 else "edge"
    padded = np.pad(small, ((0, side - h), (0, side - w)), mode=mode)
    return color.lightness_to_model_np(padded), (h, w)


def _join_in_strips(lab_to_rgb, lightness, ab_small, gain):
    """Full-resolution L (H, W) and predicted ab (h, w, 2) in [-1, 1], times ``gain`` -> ``lab_to_rgb``'s RGB.

    Bilinear upsampling (chroma is smooth, and unlike cubic it cannot overshoot into halos at color edges)
    is separable: the height is resized once (H rows of the small width: small), then each strip of
    STRIP_ROWS rows is widened and converted on its own; both are cv2.resize (pixel centres, edges clamped),
    and a strip keeps its rows (vertical scale 1): the values of one cv2.resize of the whole ab, up to rounding.
    So a 100-megapixel scan needs its L and its output, not five full-size float planes.
    """
    height, width = lightness.shape
    if gain != 1.0:
        ab_small = np.clip(ab_small * np.float32(gain), -1.0, 1.0)
    columns_small = ab_small.shape[1]
    tall = cv2.resize(color.ab_from_model_np(ab_small), (columns_small, height), interpolation=cv2.INTER_LINEAR)
    tall = tall.reshape(height, columns_small, 2)  # cv2 drops a 1-pixel axis
    rgb = None
    for top in range(0, height, STRIP_ROWS):
        rows = slice(top, min(top + STRIP_ROWS, height))
        ab = cv2.resize(tall[rows], (width, rows.stop - rows.start), interpolation=cv2.INTER_LINEAR)
        ab = ab.reshape(rows.stop - rows.start, width, 2)
        if rgb is None:  # the first strip tells the output's dtype (uint8 or uint16)
            strip = lab_to_rgb(lightness[rows], ab[..., 0], ab[..., 1])
            rgb = np.empty((height, width, 3), strip.dtype)
            rgb[rows] = strip
        else:
            lab_to_rgb(lightness[rows], ab[..., 0], ab[..., 1], out=rgb[rows])
    return rgb


def join(lightness, ab_small, gain=1.0):
    """Full-resolution L (H, W) and predicted ab (h, w, 2) in [-1, 1], times ``gain`` -> uint8 RGB (H, W, 3)."""
    return _join_in_strips(color.lab_to_rgb_u8, lightness, ab_small, gain)


def _join_16(rgb16, ab_small, gain=1.0):
    """A 16-bit photo (H, W, 3) and its predicted ab -> uint16 RGB with the photo's own 16-bit L."""
    return _join_in_strips(color.lab_to_rgb_u16, color.lightness_u16(rgb16), ab_small, gain)


def _is_16_bit_rgb(photo):
    return isinstance(photo, np.ndarray) and photo.dtype == np.uint16 and photo.ndim == 3 and photo.shape[-1] == 3


def predict_ab(colorizer, photos, working_size=None, batch_size=8):
    """The generator's ab for several photos, before any gain -> [(L (H, W) uint8, ab (h, w, 2) in [-1, 1])].

    ``colorizer``: a ``colorizers.Colorizer``, or a bare generator network (working size 256).
    All photos of a batch share one square network input, so a batch goes through the generator in one
    call; each ab is cropped to the box its photo occupies at the working size (``join`` scales it up).
    """
    colorizer = colorizers.Colorizer.of(colorizer)
    working_size, side = network_geometry(colorizer, working_size)
    results = []
    photos = list(photos)
    for start in range(0, len(photos), batch_size):
        lightness = [color.lightness_u8(to_rgb_u8(photo)) for photo in photos[start:start + batch_size]]
        inputs, boxes = zip(*(_network_input(each, working_size, side) for each in lightness), strict=True)
        ab = run_network(colorizer.generator, inputs)
        results += [(each, ab[i, :h, :w]) for i, (each, (h, w)) in enumerate(zip(lightness, boxes, strict=True))]
    return results


def network_geometry(colorizer, working_size=None):
    """-> (the long side a photo is shrunk to, the side of the square the generator sees).

    ``working_size``: this call's (default: the colorizer's own).
    """
    colorizer = colorizers.Colorizer.of(colorizer)
    working_size = int(working_size or colorizer.working_size)
    if working_size < 1:
        raise ValueError(f"working_size must be a positive number of pixels, got {working_size}")
    side = _network_side(colorizer.generator, working_size)
    return min(working_size, side), side


def run_network(generator, inputs):
    """Model-scale L inputs, each (side, side) -> the generator's ab, (B, side, side, 2) float32 NumPy."""
    # A direct call with concrete shapes: predict_on_batch retraces with relaxed (None) shapes after a few
    # sizes, which bilinear upsampling in a classification head cannot take.
    ab = generator(np.stack(inputs)[..., None], training=False)
    if not isinstance(ab, np.ndarray):  # a Keras tensor: Keras is imported already (not at the top: see size_multiple)
        import keras

        ab = keras.ops.convert_to_numpy(ab)
    return ab.astype(np.float32, copy=False)


def colorize_batch(colorizer, photos, working_size=None, batch_size=8, color_strength=1.0):
    """Colorize several photos (paths or arrays, any sizes) -> list of uint8 RGB, each of its input's size.

    ``colorizer``: a ``colorizers.Colorizer`` (``colorizers.load``), or a bare generator network (gain 1,
    working size 256). All photos share one square network input, so a batch goes through the generator in
    one call. ``color_strength`` scales the calibrated gain (0: gray; ``Colorizer.gain_at``); ``working_size``
    replaces the colorizer's for this call. A uint16 RGB array (a restorer's 16-bit scan) comes back as
    uint16 RGB, its L kept at 16 bits; everything else as uint8 RGB.
    """
    colorizer = colorizers.Colorizer.of(colorizer)
    gain = colorizer.gain_at(color_strength)
    photos = list(photos)
    predicted = predict_ab(colorizer, photos, working_size, batch_size)
    return [_join_16(photo, ab, gain) if _is_16_bit_rgb(photo) else join(lightness, ab, gain)
            for photo, (lightness, ab) in zip(photos, predicted, strict=True)]


def colorize(colorizer, image, working_size=None, color_strength=1.0):
    """Colorize one photo (a path or an array, any size and mode) -> uint8 RGB (H, W, 3) of the input's size.

    Args:
        colorizer: a ``colorizers.Colorizer`` (``colorizers.load``: the generator and its calibrated gain
            and working size), or a bare generator L (B, H, W, 1) -> ab (B, H, W, 2), both in [-1, 1]
            (``models.build_generator``), colorized at gain 1 and working size 256.
        image: a file path, or an array (H, W), (H, W, 1), (H, W, 3), (H, W, 4): uint8, uint16
            or float in [0, 1].
        working_size: the long side the network sees; default the colorizer's.
        color_strength: 1 (default) gives the run's calibrated colors, 0 the gray photo, 1.5 half
            again as strong.
    """
    return colorize_batch(colorizer, [image], working_size=working_size, color_strength=color_strength)[0]
