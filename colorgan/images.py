"""Reading real-world image files into clean 8-bit RGB arrays, with a reason when that fails.

Photos arrive in every mode a camera, scanner or editor writes: EXIF-rotated JPEGs, palette
GIFs, RGBA PNGs, CMYK scans, 16-bit TIFFs, grayscale. Dataset preparation and colorization
both read through ``read_rgb`` so they agree on what a file looks like.
"""

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jfif"}
)
# Refuse decompression bombs: 100 megapixels is far above any camera photo we colorize
# (a 12 MP phone photo is 12e6) but far below what would exhaust memory.
MAX_PIXELS = 100_000_000


class ImageError(ValueError):
    """An input that cannot be used, with the file it came from and a short reason."""

    def __init__(self, source, reason):
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


def is_image_file(path) -> bool:
    """True if the file name has an image extension we read."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def find_images(folder):
    """Image files under ``folder`` (recursive), sorted, by extension (see ``IMAGE_EXTENSIONS``)."""
    return sorted(path for path in Path(folder).rglob("*") if path.is_file() and is_image_file(path))


def _composite_on_white(image):
    """RGBA / LA / PA -> RGB on a white background (transparent areas of scans are paper)."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _high_bit_depth_to_rgb(image):
    """16-bit or 32-bit single-channel images ('I;16', 'I', 'F') -> 8-bit RGB, full range kept."""
    array = np.asarray(image, dtype=np.float64)
    if image.mode.startswith("I;16") or (image.mode == "I" and array.max(initial=0) <= 65535):
        array = array / 65535.0 if array.max(initial=0) > 255 else array / 255.0
    elif image.mode == "F" and array.max(initial=0) <= 1.0:
        pass  # already in [0, 1]
    else:
        array = array / max(array.max(initial=0), 1.0)
    gray = (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=-1)


def pil_to_rgb(image) -> np.ndarray:
    """A PIL image of any mode -> uint8 RGB (H, W, 3), EXIF orientation applied."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = _composite_on_white(image)
    elif image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return _high_bit_depth_to_rgb(image)
    elif image.mode != "RGB":
        image = image.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV
    return np.asarray(image, dtype=np.uint8)


def read_rgb(source, max_pixels=MAX_PIXELS, min_size=1, short_side_at_least=None) -> np.ndarray:
    """Read an image file (path, bytes or file object) as uint8 RGB (H, W, 3).

    ``short_side_at_least``: the caller will shrink the photo to this short side anyway, so a
    JPEG may be decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, never below this size):
    a 12 MP phone photo decodes ~10x faster. Other formats are read at full size.

    Raises:
        ImageError: with a reason a person understands: empty file, not an image,
            corrupt or truncated, too large (decompression bomb), too small.
    """
    name = source if isinstance(source, (str, Path)) else "<bytes>"
    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise ImageError(name, "empty file (0 bytes)")
        source = io.BytesIO(source)
    if isinstance(source, (str, Path)) and Path(source).stat().st_size == 0:
        raise ImageError(name, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageError(name, f"too large: {width}x{height} pixels is above the limit of {max_pixels}")
                if short_side_at_least and image.format == "JPEG" and min(width, height) >= 2 * short_side_at_least:
                    factor = short_side_at_least / min(width, height)
                    image.draft(None, (max(1, int(width * factor + 0.999)), max(1, int(height * factor + 0.999))))
                image.load()  # decode now so truncation is caught here, not later
                rgb = pil_to_rgb(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageError(name, f"too large (decompression bomb): {error}") from None
    except Image.UnidentifiedImageError:
        raise ImageError(name, "not an image (unrecognized format)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(name, f"corrupt or truncated image: {error}") from None
    if min(rgb.shape[:2]) < min_size:
        raise ImageError(name, f"too small: {rgb.shape[1]}x{rgb.shape[0]} pixels, need at least {min_size} per side")
    return rgb
