"""The CIE Lab color core: sRGB <-> Lab and the project's one normalization convention.

Every other module imports from here; nothing else scales L or ab.

Convention (the field's reference, as in junyanz/pytorch-CycleGAN-and-pix2pix colorization):
    L  in [0, 100]        -> L / 50 - 1            in [-1, 1]   (generator input, 1 channel)
    ab in about [-110, 110] -> clip(ab / 110, -1, 1) in [-1, 1]  (generator output, 2 channels, tanh)

Lab is CIE 1976 L*a*b* under the D65 2-degree white point with sRGB companding, matching
scikit-image's ``rgb2lab``/``lab2rgb``. The conversions are TensorFlow ops (``rgb_to_lab``,
``lab_to_rgb``: any leading batch shape, usable in ``tf.data`` and ``tf.function``), with
NumPy-in/NumPy-out wrappers for single images, and ``lightness_u8``/``lab_to_rgb_u8``: the same
math in NumPy/OpenCV float32 for full-resolution photos at inference (a 12-megapixel photo in ~0.1 s).
"""

import cv2
import numpy as np

# TensorFlow is imported inside the TF ops below, on first use: dataset preparation's worker
# processes use only the NumPy/OpenCV functions and should not pay TensorFlow's import (~2 s, ~300 MB).

L_SCALE = 50.0  # L in [0, 100] -> [-1, 1]
AB_SCALE = 110.0  # |a|, |b| of sRGB colors stay below ~110 (b of pure yellow is ~94.5, a of magenta ~98)

# sRGB (linear) -> XYZ, and the D65 white point; the same numbers scikit-image uses.
_XYZ_FROM_RGB = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=np.float64,
)
_RGB_FROM_XYZ = np.linalg.inv(_XYZ_FROM_RGB)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883], dtype=np.float64)
_EPSILON = 0.008856  # (6/29)^3: where the cube root meets the linear segment
_KAPPA = 7.787  # slope of the linear segment


def _check_float_image(image, name):
    """Return ``image`` as a float32 tensor with 3 channels, or raise ValueError."""
    import tensorflow as tf

    image = tf.convert_to_tensor(image)
    if not image.dtype.is_floating:
        raise ValueError(
            f"{name} expects a float image in [0, 1] (or Lab floats), got dtype {image.dtype.name}; "
            "convert uint8 with tf.image.convert_image_dtype(image, tf.float32) first"
        )
    if image.shape.rank is not None and (image.shape.rank == 0 or image.shape[-1] != 3):
        raise ValueError(f"{name} expects 3 channels in the last axis, got shape {image.shape}")
    return tf.cast(image, tf.float32)


def rgb_to_lab(rgb):
    """sRGB in [0, 1], shape (..., 3), float -> CIE Lab (L in [0, 100]), float32, same shape."""
    import tensorflow as tf

    rgb = _check_float_image(rgb, "rgb_to_lab")
    rgb = tf.clip_by_value(rgb, 0.0, 1.0)
    # Powers as exp(p * log(x)): TF's CPU pow is scalar code, exp and log are vectorized, so the
    # input pipeline converts batches ~2x faster (same values to ~1e-4 Lab units).
    power = tf.exp(2.4 * tf.math.log((tf.maximum(rgb, 0.04045) + 0.055) / 1.055))
    linear = tf.where(rgb > 0.04045, power, rgb / 12.92)
    matrix = tf.constant((_XYZ_FROM_RGB / _WHITE_D65[:, None]).T, tf.float32)
    xyz = tf.tensordot(linear, matrix, axes=1)  # already divided by the white point
    # Cube root above the knee, its tangent line below it (= kappa * t + 16/116), without a branch.
    f = tf.exp(tf.math.log(tf.maximum(xyz, _EPSILON)) / 3.0) + _KAPPA * tf.minimum(xyz - _EPSILON, 0.0)
    fx, fy, fz = tf.unstack(f, axis=-1)
    return tf.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def lab_to_rgb(lab):
    """CIE Lab, shape (..., 3), float -> sRGB in [0, 1], float32; out-of-gamut colors are clipped."""
    import tensorflow as tf

    lab = _check_float_image(lab, "lab_to_rgb")
    lightness, a, b = tf.unstack(lab, axis=-1)
    fy = (lightness + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = tf.maximum(fy - b / 200.0, 0.0)  # negative z is outside any real color (skimage clips too)
    f = tf.stack([fx, fy, fz], axis=-1)
    xyz = tf.where(f > 0.2068966, tf.pow(f, 3.0), (f - 16.0 / 116.0) / _KAPPA)
    matrix = tf.constant((_RGB_FROM_XYZ * _WHITE_D65[None, :]).T, tf.float32)
    linear = tf.clip_by_value(tf.tensordot(xyz, matrix, axes=1), 0.0, 1.0)
    rgb = tf.where(linear > 0.0031308, 1.055 * tf.pow(tf.maximum(linear, 0.0031308), 1.0 / 2.4) - 0.055,
                   12.92 * linear)
    return tf.clip_by_value(rgb, 0.0, 1.0)


def normalize_lab(lab):
    """Lab (..., 3) -> (L, ab) in the model's scale: L (..., 1) and ab (..., 2), both in [-1, 1]."""
    import tensorflow as tf

    lab = tf.convert_to_tensor(lab, tf.float32)
    return lab[..., :1] / L_SCALE - 1.0, tf.clip_by_value(lab[..., 1:] / AB_SCALE, -1.0, 1.0)


def denormalize_lab(l_norm, ab_norm):
    """(L, ab) in the model's scale -> Lab (..., 3) with L in [0, 100]."""
    import tensorflow as tf

    l_norm = tf.convert_to_tensor(l_norm, tf.float32)
    ab_norm = tf.cast(ab_norm, tf.float32)  # the generator may emit float16 under mixed precision
    return tf.concat([(l_norm + 1.0) * L_SCALE, ab_norm * AB_SCALE], axis=-1)


def rgb_to_model(rgb):
    """sRGB in [0, 1] (..., 3) -> (L, ab) in [-1, 1]: what the generator reads and predicts."""
    return normalize_lab(rgb_to_lab(rgb))


def model_to_rgb(l_norm, ab_norm):
    """(L, ab) in [-1, 1] -> sRGB in [0, 1] (..., 3): the generator's input joined with its output."""
    return lab_to_rgb(denormalize_lab(l_norm, ab_norm))


# ---- NumPy in, NumPy out: the same ops for one image at a time (notebooks, inference) ---------


def _check_numpy_image(image, name):
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"{name} expects an image of shape (H, W, 3), got {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"{name} expects uint8 or float RGB, got dtype {image.dtype}")
    return image.astype(np.float32, copy=False)


def rgb_to_lab_np(rgb):
    """RGB (H, W, 3), uint8 or float in [0, 1] -> Lab float32 (H, W, 3) as a NumPy array."""
    return rgb_to_lab(_check_numpy_image(rgb, "rgb_to_lab_np")).numpy()


def lab_to_rgb_np(lab):
    """Lab float (H, W, 3) -> RGB float32 in [0, 1] (H, W, 3) as a NumPy array, clipped to the gamut."""
    return lab_to_rgb(lab).numpy()


def to_uint8(rgb):
    """Float RGB in [0, 1] -> uint8, rounding to the nearest level."""
    return (np.clip(np.asarray(rgb, np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


# ---- Full resolution, fast: NumPy/OpenCV for 12-megapixel photos (inference) -----------------
#
# The same convention and white point as above, computed without TensorFlow and in float32 so a
# 4000x3000 photo converts in tens of milliseconds. Tested against scikit-image in
# tests/test_color_fast.py. Only L is computed from the input (the generator predicts ab), and
# Lab -> RGB goes straight to uint8.

# Per-channel sRGB level (0..255) -> its share of the luminance Y, so Y = sum of three table look-ups.
_LEVELS = np.arange(256, dtype=np.float64) / 255.0
_LINEAR_LEVELS = np.where(_LEVELS > 0.04045, ((_LEVELS + 0.055) / 1.055) ** 2.4, _LEVELS / 12.92)
_Y_SHARE_LUT = (_LINEAR_LEVELS[:, None] * _XYZ_FROM_RGB[1][None, :]).astype(np.float32).reshape(1, 256, 3)
# L of a full-resolution photo is computed a band of rows at a time: a band's float32 intermediates stay in
# the CPU cache instead of streaming 12 MP x 3 channels through memory at every step (~2x faster for 12 MP).
BAND_ROWS = 64
_F_KNEE = 6.0 / 29.0  # f(t) where the cube root meets the linear segment (t = _EPSILON)
_CUBE_ROOT_EPSILON = np.cbrt(np.float32(_EPSILON))  # the line starts where the cube root ends: f is continuous


def _lab_f(t):
    """CIE f(t): cube root above _EPSILON, the tangent line at the knee below it, float32, any shape (elementwise).

    One vectorized cube root over everything, then the few pixels below the knee (the darkest, t < 0.9 %)
    are redone on the line: a third of the passes of a branch-free formula, for a 12 MP photo ~3x faster.
    """
    t = np.asarray(t, np.float32)
    dark = t < np.float32(_EPSILON)
    f = np.cbrt(t)
    if dark.any():
        f[dark] = _CUBE_ROOT_EPSILON + np.float32(_KAPPA) * (t[dark] - np.float32(_EPSILON))
    return f


# Gray levels (R = G = B) have L as a plain 256-entry table.
_GRAY_LIGHTNESS_LUT = (116.0 * np.where(_LINEAR_LEVELS > _EPSILON, np.cbrt(_LINEAR_LEVELS),
                                        _KAPPA * _LINEAR_LEVELS + 16.0 / 116.0) - 16.0).astype(np.float32)


def lightness_u8(rgb):
    """uint8 RGB (H, W, 3) -> CIE L in [0, 100], float32 (H, W); gray photos take a 256-entry table."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"lightness_u8 expects uint8 RGB of shape (H, W, 3), got {rgb.dtype} {rgb.shape}")
    if _is_gray(rgb):
        return cv2.LUT(np.ascontiguousarray(rgb[..., 0]), _GRAY_LIGHTNESS_LUT)
    rgb = np.ascontiguousarray(rgb)
    lightness = np.empty(rgb.shape[:2], np.float32)
    for rows in _bands(len(rgb)):
        luminance = cv2.transform(cv2.LUT(rgb[rows], _Y_SHARE_LUT), np.ones((1, 3), np.float32))  # Y
        band = np.multiply(_lab_f(luminance.reshape(lightness[rows].shape)), np.float32(116.0), out=lightness[rows])
        band -= np.float32(16.0)
    return lightness


def _is_gray(rgb):
    """True when R = G = B everywhere; a few rows are compared first, so a color photo is told at once."""
    sample = rgb[:: max(1, len(rgb) // 16)]
    for image in (sample, rgb):
        if not (np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 0], image[..., 2])):
            return False
    return True


def _bands(height, rows=BAND_ROWS):
    """Row slices covering an image ``height`` tall, ``rows`` at a time."""
    return [slice(top, top + rows) for top in range(0, height, rows)]


_LINEAR_LUT = _LINEAR_LEVELS.astype(np.float32)  # sRGB level 0..255 -> linear light
_XYZ_OVER_WHITE = (_XYZ_FROM_RGB / _WHITE_D65[:, None]).astype(np.float32)


def rgb_u8_to_lab(rgb):
    """uint8 RGB (H, W, 3) -> CIE Lab float32 (H, W, 3) in NumPy/OpenCV, without TensorFlow.

    The same math as ``rgb_to_lab`` (companding by table, matrix, CIE f), for code that must not
    import TensorFlow, such as dataset preparation's worker processes.
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"rgb_u8_to_lab expects uint8 RGB of shape (H, W, 3), got {rgb.dtype} {rgb.shape}")
    xyz = cv2.transform(cv2.LUT(np.ascontiguousarray(rgb), _LINEAR_LUT), _XYZ_OVER_WHITE)  # X/Xn, Y/Yn, Z/Zn
    fx, fy, fz = cv2.split(_lab_f(xyz))
    return cv2.merge([np.float32(116.0) * fy - np.float32(16.0), np.float32(500.0) * (fx - fy),
                      np.float32(200.0) * (fy - fz)])


# 16-bit photos (restorers' scans): a 65,536-entry table per level, the same sRGB companding.
_LEVELS_16 = np.arange(65536, dtype=np.float64) / 65535.0
_LINEAR_LUT_16 = np.where(_LEVELS_16 > 0.04045, ((_LEVELS_16 + 0.055) / 1.055) ** 2.4, _LEVELS_16 / 12.92
                          ).astype(np.float32)


def lightness_u16(rgb):
    """uint16 RGB (H, W, 3) -> CIE L in [0, 100], float32 (H, W), at 16-bit precision.

    Y is summed one channel at a time, so a 100-megapixel scan needs two float32 planes, not three.
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint16 or rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"lightness_u16 expects uint16 RGB of shape (H, W, 3), got {rgb.dtype} {rgb.shape}")
    luminance = np.zeros(rgb.shape[:2], np.float32)
    for channel, weight in enumerate(_XYZ_FROM_RGB[1].astype(np.float32)):
        luminance += weight * _LINEAR_LUT_16[rgb[..., channel]]
    lightness = _lab_f(luminance)
    lightness *= np.float32(116.0)
    lightness -= np.float32(16.0)
    return lightness


def _lab_to_rgb_float(lightness, a, b):
    """L, a, b (H, W) -> float32 RGB in [0, 1] (H, W, 3), clipped to the gamut (see ``lab_to_rgb_u8``)."""
    lightness, a, b = (np.asarray(channel, np.float32) for channel in (lightness, a, b))
    if lightness.ndim != 2 or a.shape != lightness.shape or b.shape != lightness.shape:
        raise ValueError(f"Lab -> RGB expects L, a and b of one shape (H, W), got {lightness.shape}, "
                         f"{a.shape} and {b.shape}")
    b_capped = lightness + np.float32(16.0)
    b_capped *= np.float32(200.0 / 116.0)  # 200 * fy: fz = fy - b / 200 >= 0 <=> b <= 200 * fy
    np.minimum(b, b_capped, out=b_capped)
    lab = cv2.merge([np.ascontiguousarray(lightness), np.ascontiguousarray(a), b_capped])
    del b_capped
    cv2.cvtColor(lab, cv2.COLOR_Lab2RGB, dst=lab)  # float32 RGB in [0, 1], in place
    return lab


def _into(out, rgb):
    """``rgb``, or ``out`` holding it when given (OpenCV reallocates a ``dst`` it cannot use, silently)."""
    if out is None or np.shares_memory(out, rgb):
        return rgb if out is None else out
    np.copyto(out, rgb, casting="unsafe")
    return out


def lab_to_rgb_u16(lightness, a, b, out=None):
    """L, a and b, each (H, W) float32 (L in [0, 100]) -> uint16 RGB (H, W, 3), clipped to the gamut.

    ``out``: an (H, W, 3) uint16 array to fill (a strip of the whole photo), else a new one.
    """
    rgb = _lab_to_rgb_float(lightness, a, b)
    rgb *= np.float32(65535.0)
    rgb += np.float32(0.5)
    np.clip(rgb, 0.0, 65535.0, out=rgb)
    return _into(out, rgb) if out is not None else rgb.astype(np.uint16)


def lab_to_rgb_u8(lightness, a, b, out=None):
    """L, a and b, each (H, W) float32 (L in [0, 100]) -> uint8 RGB (H, W, 3), clipped to the gamut.

    OpenCV's float Lab -> RGB is the same sRGB/D65 math; the one difference from scikit-image (and
    ``lab_to_rgb``) is that those clip a negative Z before the matrix, so b is capped here where
    Z would turn negative (b > 200 * fy). Agrees with scikit-image within one 8-bit level.
    Channels come separately (a and b may be views of one (H, W, 2) array) and the conversion runs in
    place, so a 12 MP photo needs one float32 Lab buffer (144 MB) and no copies of it; ``out``: an
    (H, W, 3) uint8 array to fill (a strip of the whole photo), else a new one.
    """
    rgb = _lab_to_rgb_float(lightness, a, b)
    return _into(out, cv2.convertScaleAbs(rgb, alpha=255.0, dst=out))  # round and saturate to uint8


def lightness_to_model_np(lightness):
    """L in [0, 100] (NumPy) -> the generator's input scale [-1, 1], float32."""
    return np.asarray(lightness, np.float32) / np.float32(L_SCALE) - np.float32(1.0)


def ab_to_model_np(ab):
    """ab in Lab units (NumPy) -> the model's scale, clipped to [-1, 1], float32."""
    return np.clip(np.asarray(ab, np.float32) / np.float32(AB_SCALE), -1.0, 1.0)


def ab_from_model_np(ab_norm):
    """The generator's ab in [-1, 1] (NumPy, any float dtype) -> Lab units, float32."""
    return np.asarray(ab_norm, np.float32) * np.float32(AB_SCALE)
