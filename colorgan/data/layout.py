"""The prepared dataset folder: where preparation writes and the input pipeline reads.

    <out>/train/<hash>.jpg   color RGB photos, short side = size (aspect kept)
    <out>/val/<hash>.jpg
    <out>/summary.json       counts: found, kept, train, val, dropped by reason
    <out>/manifest.jsonl     one JSON record per source file found (kept or dropped, and why)
    <out>/.colorgan-prepared marks the folder as colorgan's: preparation reuses no other folder
"""

import hashlib
import json
from pathlib import Path

from colorgan import images
from colorgan.paths import resolve

SPLITS = ("train", "val")
SUMMARY_NAME = "summary.json"
MANIFEST_NAME = "manifest.jsonl"
MARKER_NAME = ".colorgan-prepared"


def list_images(prepared_dir, split="train"):
    """Sorted image paths of one split of a prepared folder (relative paths are from the project root)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    folder = split_folder(prepared_dir, split)
    if not folder.is_dir():
        raise ValueError(f"{folder} does not exist: prepare a dataset first (colorgan prepare ... --out "
                         f"{resolve(prepared_dir)})")
    return images.find_images(folder)


def original_photos(prepared_dir, split="val"):
    """The photos of one split at their original resolution, as users colorize them -> sorted paths.

    Each prepared photo is replaced by the source file it was made from (manifest.jsonl) when that file
    is still there with the same content (its sha256); otherwise (moved, changed, inside a zip or
    downloaded) the prepared copy stands in. Falls back to ``list_images`` without a manifest.
    """
    prepared = {path.name: path for path in list_images(prepared_dir, split)}
    try:
        records = read_manifest(prepared_dir)
    except ValueError:
        return sorted(prepared.values())
    photos = dict(prepared)
    for record in records:
        name = Path(record.get("file", "")).name
        if record.get("status") != "kept" or record.get("split") != split or name not in prepared:
            continue
        source = Path(record["source"])
        try:
            if source.is_file() and hashlib.sha256(source.read_bytes()).hexdigest() == record["sha256"]:
                photos[name] = source
        except OSError:
            pass  # unreadable now: the prepared copy stands in
    return [photos[name] for name in sorted(photos)]


def validation_splits(prepared_dir, extra_dirs=()):
    """Where a run's validation photos are, as (prepared folder, split) pairs: the val split of ``prepared_dir``,
    then both splits of each of ``extra_dirs`` (a run's ``extra_val_dirs``: validated on whole, never trained on)."""
    return [(prepared_dir, "val"), *((folder, split) for folder in extra_dirs for split in SPLITS)]


def validation_originals(prepared_dir, extra_dirs=()):
    """A run's validation photos (``validation_splits``) at their original resolution, as ``original_photos``
    finds each, sorted."""
    return sorted(photo for folder, split in validation_splits(prepared_dir, extra_dirs)
                  for photo in original_photos(folder, split))


def count_source_files(photos, prepared_dirs):
    """How many of ``photos`` are source files, not prepared copies inside one of ``prepared_dirs``."""
    folders = [resolve(folder).resolve() for folder in prepared_dirs]
    return sum(not any(Path(photo).resolve().is_relative_to(folder) for folder in folders) for photo in photos)


def split_folder(prepared_dir, split) -> Path:
    return resolve(prepared_dir) / split


def read_manifest(prepared_dir):
    """The per-file records of the last preparation (list of dicts: source, status, reason, split, file ...)."""
    path = resolve(prepared_dir) / MANIFEST_NAME
    if not path.is_file():
        raise ValueError(f"{path} not found: prepare a dataset first")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

