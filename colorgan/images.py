"""Reading real-world image files into clean 8-bit RGB arrays, with a reason when that fails.

Photos arrive in every mode a camera, scanner or editor writes: EXIF-rotated JPEGs, palette
GIFs, RGBA PNGs, CMYK scans, 16-bit TIFFs, grayscale, phones' HEIC. Dataset preparation and
colorization both read through ``read_rgb`` so they agree on what a file looks like, and both
name every file they leave alone with the reason (``skip_reason``).
"""

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

try:  # phones store photos as HEIC/HEIF: Pillow reads them through the pillow-heif plugin
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # a dependency of colorgan; without it such photos are named with what to install
    pillow_heif = None

HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif"})
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jfif", ".avif"}
    | HEIF_EXTENSIONS
)
NEEDS_HEIF_PLUGIN = "needs pillow-heif: a HEIC/HEIF photo; install the plugin (pip install pillow-heif) to read it"
# HEIF files start with an ISO box "ftyp" and one of these brands (ISO/IEC 23008-12).
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1")
# Refuse decompression bombs: 100 megapixels is far above any camera photo we colorize
# (a 12 MP phone photo is 12e6) but far below what would exhaust memory. A 1200 dpi scan of an
# 8x10 print (115 MP) is real, though: callers may raise it (colorize --max-pixels).
MAX_PIXELS = 100_000_000


class ImageError(ValueError):
    """An input that cannot be used, with the file it came from and a short reason."""

    def __init__(self, source, reason):
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


def too_large(width, height, max_pixels):
    """The reason for a photo above the pixel limit, with the way past it."""
    return (f"too large: {width}x{height} pixels is above the limit of {max_pixels:,} "
            "(a guard against decompression bombs; colorize --max-pixels N raises it)")


def is_image_file(path) -> bool:
    """True if the file name has an image extension we read."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def skip_reason(path):
    """Why a file found in a folder is not read as a photo, or None when it is (by its name).

    Reasons start with a short category ("hidden file", "unsupported file type") that summaries count.
    """
    path = Path(path)
    if path.name.startswith("."):
        return "hidden file: system metadata (.DS_Store, ._ resource forks), not a photo"
    if not is_image_file(path):
        kind = f"{path.suffix.lower()} files" if path.suffix else "files without an extension"
        return f"unsupported file type: colorgan does not read {kind}"
    return None


def link_problem(path):
    """Why a symbolic link found in a folder is not followed, or None (a link to a file, or no link).

    Links to folders are named, not followed: they can loop, and the folder can be given itself.
    """
    path = Path(path)
    if not path.is_symlink():
        return None
    target = os.readlink(path)
    try:
        path.stat()
    except FileNotFoundError:
        return f"broken symbolic link: points to {target}, which does not exist"
    except OSError as error:  # ELOOP: a link that leads back to itself
        return f"symbolic link loop: points to {target}, which leads back to it ({error.strerror})"
    if path.is_dir():
        return f"symbolic link to a folder: not followed (links can loop); give the folder {target} itself"
    return None


def unreadable_folder(error: OSError):
    """(folder, reason) for a folder ``os.walk`` could not list."""
    return Path(error.filename), f"unreadable folder: {error.strerror or error}"


def find_files(folder):
    """(photos, others) under ``folder`` (recursive), each sorted: what colorgan reads, what it leaves and why.

    ``others`` is a list of (path, reason), the reason from ``skip_reason`` or ``link_problem``, with
    unreadable folders and links to folders among them: nothing is left out without a word.
    """
    photos, others, errors = [], [], []
    for current, subfolders, files in os.walk(folder, onerror=errors.append):
        for name in subfolders + files:  # os.walk lists links to folders with the folders and does not enter them
            path = Path(current) / name
            reason = link_problem(path) or (None if name in subfolders else skip_reason(path))
            if reason is not None:
                others.append((path, reason))
            elif name in files:
                photos.append(path)
    others += [unreadable_folder(error) for error in errors]
    return sorted(photos), sorted(others)


def find_images(folder):
    """The photos under ``folder`` (recursive), sorted: image extensions, no hidden files (see ``find_files``)."""
    return find_files(folder)[0]


# Signatures of the formats people's photos come in: a file that starts with one but will not open is a
# damaged photo, not "not an image" (Pillow 12 fails some damaged JPEGs at open, Pillow 13 at decode).
_SIGNATURES = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG", b"GIF8": "GIF", b"II*\x00": "TIFF",
               b"MM\x00*": "TIFF", b"BM": "BMP"}


def _header(source, count=12):
    if isinstance(source, (str, Path)):
        with open(source, "rb") as file:
            return file.read(count)
    source.seek(0)
    return source.read(count)


def _looks_like_heif(source):
    """True if a file (path or file object) starts like a HEIF container, whatever its name."""
    header = _header(source)
    return header[4:8] == b"ftyp" and header[8:12] in _HEIF_BRANDS


def _signature_format(source):
    """The image format whose signature the file starts with, or None."""
    header = _header(source)
    return next((name for signature, name in _SIGNATURES.items() if header.startswith(signature)), None)


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
    # Pillow's own guard (an error above 2 x MAX_IMAGE_PIXELS, ~179 MP) must not refuse what the caller allows;
    # the limit that counts is ``max_pixels``, checked below from the header before anything is decoded.
    Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, int(max_pixels))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageError(name, too_large(width, height, max_pixels))
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
        if pillow_heif is None and _looks_like_heif(source):
            raise ImageError(name, NEEDS_HEIF_PLUGIN) from None
        known = _signature_format(source)
        if known:
            raise ImageError(name, f"corrupt or truncated image: it starts as a {known} file but cannot be decoded") \
                from None
        raise ImageError(name, "not an image (unrecognized format)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(name, f"corrupt or truncated image: {error}") from None
    if min(rgb.shape[:2]) < min_size:
        raise ImageError(name, f"too small: {rgb.shape[1]}x{rgb.shape[0]} pixels, need at least {min_size} per side")
    return rgb
