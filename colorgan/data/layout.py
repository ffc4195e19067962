"""The prepared dataset folder: where preparation writes and the input pipeline reads.

    <out>/train/<hash>.jpg   color RGB photos, short side = size (aspect kept)
    <out>/val/<hash>.jpg
    <out>/summary.json       counts: found, kept, train, val, dropped by reason
    <out>/manifest.jsonl     one JSON record per source file found (kept or dropped, and why)
"""

import json
from pathlib import Path

from colorgan.images import IMAGE_EXTENSIONS
from colorgan.paths import resolve

SPLITS = ("train", "val")
SUMMARY_NAME = "summary.json"
MANIFEST_NAME = "manifest.jsonl"


def list_images(prepared_dir, split="train"):
    """Sorted image paths of one split of a prepared folder (relative paths are from the project root)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    folder = split_folder(prepared_dir, split)
    if not folder.is_dir():
        raise ValueError(f"{folder} does not exist: prepare a dataset first (colorgan prepare ... --out "
                         f"{resolve(prepared_dir)})")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def split_folder(prepared_dir, split) -> Path:
    return resolve(prepared_dir) / split


def read_manifest(prepared_dir):
    """The per-file records of the last preparation (list of dicts: source, status, reason, split, file ...)."""
    path = resolve(prepared_dir) / MANIFEST_NAME
    if not path.is_file():
        raise ValueError(f"{path} not found: prepare a dataset first")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_summary(prepared_dir):
    """summary.json of a prepared folder: found, kept, train, val, dropped (counts by reason), settings."""
    path = resolve(prepared_dir) / SUMMARY_NAME
    if not path.is_file():
        raise ValueError(f"{path} not found: prepare a dataset first")
    return json.loads(path.read_text())
