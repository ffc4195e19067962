"""What a photo file holds besides 8-bit pixels, carried from an input to its colorized output.

Restorers scan prints at 16 bits and 600-1200 dpi, with an ICC profile and EXIF (date, description).
The colorized copy keeps each of them where its format holds it (``encode``):

    output       16 bits   DPI   ICC profile   EXIF
    PNG          yes       yes   yes           yes (eXIf)
    TIFF         yes       yes   yes           date, description, make, model, artist, copyright (TIFF tags)
    JPEG, WebP   no        JPEG  yes           yes
    BMP          no        yes   no            no

EXIF orientation is not carried: the pixels were turned upright when read (``images.pil_to_rgb``).
"""

import io
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from colorgan import images

HIGH_DEPTH_SUFFIXES = frozenset({".png", ".tif", ".tiff"})  # formats that hold (and colorgan writes) 16 bits
JPEG_QUALITY = 95
# IFD0 tags that describe the photo (not its layout in the file), carried as they are.
DESCRIPTIVE_TAGS = {270: "ImageDescription", 271: "Make", 272: "Model", 306: "DateTime", 315: "Artist",
                    33432: "Copyright"}
EXIF_IFD, GPS_IFD, DATE_TIME_ORIGINAL = 0x8769, 0x8825, 0x9003
_POINTERS = (0xA005, 0x927C)  # interoperability pointer and maker notes: offsets that would point nowhere


@dataclass
class Extras:
    """What an input carries besides its pixels (see the module's table)."""

    dpi: tuple | None = None
    icc_profile: bytes | None = None
    exif: bytes | None = None  # EXIF as a block (no orientation), for PNG, JPEG and WebP
    tags: dict = field(default_factory=dict)  # DESCRIPTIVE_TAGS present: {tag: text}, for TIFF
    high_depth: bool = False  # 16 bits per channel


def read_extras(path) -> Extras:
    """An input's DPI, ICC profile, EXIF and bit depth (the header only: pixels are not decoded)."""
    try:
        with Image.open(path) as image:
            dpi = image.info.get("dpi")
            extras = Extras(dpi=tuple(float(value) for value in dpi) if dpi else None,
                            icc_profile=image.info.get("icc_profile") or None, high_depth=_is_16_bit(image, path))
            exif = image.getexif()
            extras.tags = {tag: str(exif[tag]).strip("\0") for tag in DESCRIPTIVE_TAGS if isinstance(exif.get(tag), str)}
            details = exif.get_ifd(EXIF_IFD)
            if DATE_TIME_ORIGINAL in details and 306 not in extras.tags:
                extras.tags[306] = str(details[DATE_TIME_ORIGINAL])
            extras.exif = _exif_block(exif)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return Extras()  # the pixels' reader names what is wrong with the file
    return extras


def _is_16_bit(image, path):
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return True
    if image.format == "PNG":  # Pillow reads 16-bit RGB PNGs as 8-bit RGB: the header says the depth
        with open(path, "rb") as file:
            return file.read(25)[24:25] == b"\x10"
    if image.format == "TIFF":
        return max(image.tag_v2.get(258, (8,)) or (8,)) == 16
    return False


def _exif_block(exif):
    """Descriptive IFD0 tags and the EXIF and GPS sub-IFDs of ``exif`` as an EXIF block, or None."""
    carried = Image.Exif()
    for tag in DESCRIPTIVE_TAGS:
        if tag in exif:
            carried[tag] = exif[tag]
    for pointer in (EXIF_IFD, GPS_IFD):
        sub = {tag: value for tag, value in exif.get_ifd(pointer).items() if tag not in _POINTERS}
        if sub:
            carried[pointer] = sub
    if not len(carried):
        return None
    try:
        return carried.tobytes()
    except (ValueError, TypeError, struct.error):
        return None  # a tag Pillow cannot write back: the photo goes without EXIF rather than not at all


def read_rgb16(path, max_pixels=images.MAX_PIXELS) -> np.ndarray:
    """A 16-bit PNG or TIFF as uint16 RGB (H, W, 3); gray is repeated, alpha composited on white (paper).

    Raises:
        images.ImageError: naming the file, when OpenCV cannot decode it or it is above ``max_pixels``.
    """
    with Image.open(path) as image:  # the size from the header, before anything is decoded
        width, height = image.size
    if width * height > max_pixels:
        raise images.ImageError(path, images.too_large(width, height, max_pixels))
    array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if array is None or array.dtype != np.uint16:
        raise images.ImageError(path, "corrupt or truncated image: OpenCV could not read its 16-bit pixels")
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=-1)
    if array.shape[-1] == 4:
        alpha = array[..., 3:].astype(np.float32) / 65535.0
        array = (array[..., :3] * alpha + 65535.0 * (1.0 - alpha) + 0.5).astype(np.uint16)
    return np.ascontiguousarray(cv2.cvtColor(array, cv2.COLOR_BGR2RGB))  # OpenCV: BGR


def encode(rgb, suffix, extras=None) -> bytes:
    """uint8 or uint16 RGB (uint16 only for PNG and TIFF) -> the bytes of a ``suffix`` file with ``extras``."""
    extras = extras or Extras()
    suffix = suffix.lower()
    if rgb.dtype == np.uint16 and suffix not in HIGH_DEPTH_SUFFIXES:
        raise ValueError(f"{suffix} holds 8 bits per channel: write 16-bit photos as PNG or TIFF")
    if suffix == ".png":
        encoded, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))  # 8 or 16 bits
        if not encoded:
            raise OSError("could not encode PNG")
        return _with_png_chunks(data.tobytes(), extras)
    if suffix in (".tif", ".tiff"):
        return _tiff(rgb, extras)
    options = {"dpi": extras.dpi} if extras.dpi and suffix in (".jpg", ".jpeg", ".bmp") else {}
    if suffix != ".bmp":
        options.update({key: value for key, value in (("icc_profile", extras.icc_profile), ("exif", extras.exif))
                        if value})
    if suffix in (".jpg", ".jpeg", ".webp"):
        options["quality"] = JPEG_QUALITY
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=Image.registered_extensions()[suffix], **options)
    return buffer.getvalue()


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _with_png_chunks(png, extras):
    """Insert pHYs (DPI), iCCP and eXIf right after IHDR (8-byte signature + 25-byte IHDR chunk)."""
    chunks = b""
    if extras.dpi:
        per_meter = [round(value / 0.0254) for value in extras.dpi]
        chunks += _chunk(b"pHYs", struct.pack(">IIB", *per_meter, 1))
    if extras.icc_profile:
        chunks += _chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(extras.icc_profile))
    if extras.exif:
        exif = extras.exif[6:] if extras.exif.startswith(b"Exif\0\0") else extras.exif
        chunks += _chunk(b"eXIf", exif)
    return png[:33] + chunks + png[33:]


def _tiff(rgb, extras):
    import tifffile  # comes with scikit-image; here, so colorizing to JPEG and PNG never loads it

    tags = [(tag, "s", 0, text.encode("ascii", "replace").decode(), True) for tag, text in extras.tags.items()]
    if extras.icc_profile:
        tags.append((34675, 7, len(extras.icc_profile), extras.icc_profile, True))
    options = {"resolution": extras.dpi, "resolutionunit": "INCH"} if extras.dpi else {}
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, rgb, photometric="rgb", compression="zlib", extratags=tags, metadata=None, **options)
    return buffer.getvalue()


def is_high_depth_output(source_extras, destination) -> bool:
    """True when a photo is colorized at 16 bits: a 16-bit input written as PNG or TIFF."""
    return source_extras.high_depth and Path(destination).suffix.lower() in HIGH_DEPTH_SUFFIXES
