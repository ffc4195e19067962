"""One photo through preparation: read, keep only if it has color, resize, write once.

Runs inside worker processes, so it imports no TensorFlow and returns a small record
(never the pixels) to the parent.
"""

import hashlib
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from colorgan import color
from colorgan.images import ImageError, read_rgb

MIN_SIZE = 32  # the pipeline's smallest crop; anything smaller is a thumbnail, not a photo
# "Has color": the 99th percentile of chroma (sqrt(a^2 + b^2), Lab units) on a 64 px thumbnail.
# The thumbnail averages away JPEG and scanner noise; the percentile ignores a small colored
# watermark on a black-and-white photo. On ../shared/datasets/photos gray photos measure <= 0.2
# and the least colorful real color photo ~6, so 3 sits well inside the gap.
CHROMA_THRESHOLD = 3.0
CHROMA_PERCENTILE = 99
_THUMBNAIL_SIDE = 64
JPEG_QUALITY = 95  # with 4:4:4 chroma: the ab targets keep full resolution

# Short reason categories for summary.json; ImageError reasons start with one of these.
_IMAGE_ERROR_CATEGORIES = ("empty file", "not an image", "corrupt or truncated", "too large", "too small")


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def resize_short_side(rgb, size):
    """uint8 RGB (H, W, 3) -> short side == size, aspect kept (INTER_AREA down, INTER_CUBIC up)."""
    height, width = rgb.shape[:2]
    scale = size / min(height, width)
    if scale == 1.0:
        return rgb
    new_size = (max(size, round(width * scale)), max(size, round(height * scale)))  # cv2 wants (w, h)
    return cv2.resize(rgb, new_size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def chroma_score(rgb) -> float:
    """How colorful a photo is: the 99th percentile of Lab chroma on a 64 px thumbnail (0 for gray)."""
    thumbnail = resize_short_side(rgb, _THUMBNAIL_SIDE) if min(rgb.shape[:2]) > _THUMBNAIL_SIDE else rgb
    lab = color.rgb_u8_to_lab(thumbnail)  # NumPy/OpenCV: no TensorFlow in the worker processes
    return float(np.percentile(np.hypot(lab[..., 1], lab[..., 2]), CHROMA_PERCENTILE))


def has_color(rgb) -> bool:
    """False for grayscale photos, also when stored as RGB with JPEG noise or a colored watermark."""
    return chroma_score(rgb) >= CHROMA_THRESHOLD


def reason_category(reason: str) -> str:
    """A full drop reason -> its short category ("corrupt or truncated image: ..." -> "corrupt or truncated")."""
    for category in _IMAGE_ERROR_CATEGORIES:
        if reason.startswith(category):
            return category
    return reason.split(":")[0]


def split_of(digest: str, val_fraction: float, seed: int) -> str:
    """train or val, decided by the photo's content hash and the seed: independent of list order,
    so adding files never moves the photos already there."""
    value = int(hashlib.sha256(f"{seed}:{digest}".encode()).hexdigest()[:16], 16) / 16**16
    return "val" if value < val_fraction else "train"


def output_name(digest: str) -> str:
    return f"{digest[:24]}.jpg"


def write_jpeg(rgb, path: Path):
    """Write atomically (temp file + rename) so an interrupted run never leaves half a photo."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    Image.fromarray(rgb).save(temporary, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    os.replace(temporary, path)


def process_bytes(data: bytes, origin: str, out: Path, size: int, val_fraction: float, seed: int,
                  min_size: int = MIN_SIZE) -> dict:
    """One file's bytes -> its manifest record; writes ``<out>/<split>/<hash>.jpg`` when kept.

    The record's "pixels" hash (of the decoded, oriented pixels) lets the parent drop exact
    duplicates even when two files differ only in metadata.
    """
    digest = content_hash(data)
    record = {"source": origin, "sha256": digest}
    try:
        rgb = read_rgb(data, min_size=min_size, short_side_at_least=size)  # big JPEGs decode at 1/2..1/8 scale
    except ImageError as error:
        return {**record, "status": "dropped", "reason": error.reason, "category": reason_category(error.reason)}
    height, width = rgb.shape[:2]
    record.update(width=width, height=height, pixels=content_hash(rgb.tobytes() + bytes(f"{height}x{width}", "ascii")))
    resized = resize_short_side(rgb, size)
    score = chroma_score(resized if min(resized.shape[:2]) <= min(height, width) else rgb)
    record["chroma"] = round(score, 2)
    if score < CHROMA_THRESHOLD:
        return {**record, "status": "dropped", "reason": f"no color (chroma {score:.1f} < {CHROMA_THRESHOLD})",
                "category": "no color"}
    split = split_of(digest, val_fraction, seed)
    relative = f"{split}/{output_name(digest)}"
    write_jpeg(resized, out / relative)
    return {**record, "status": "kept", "split": split, "file": relative}
