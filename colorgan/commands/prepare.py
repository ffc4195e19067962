"""Prepare a training set from folders, .zip archives or URLs of color photos (default: scikit-image's).

Gray photos, duplicates, unreadable files and files that are not photos are dropped, each named
with its reason (here, and all of them in manifest.jsonl); the rest is resized
(short side = --size) and split into train/ and val/ by a hash of each photo's content.
Re-running only processes files that changed. Exits non-zero only when no usable photo is found.
URLs may carry a checksum: https://host/photos.zip#sha256=<64 hex digits>.
"""

import sys

from colorgan.data.download import is_url
from colorgan.paths import PREPARED_DIR, from_cwd

HELP = "turn folders/zips/URLs of photos into a prepared dataset (train/, val/, summary.json)"


def add_arguments(parser):
    parser.add_argument("sources", nargs="*", metavar="SOURCE",
                        help="folders, .zip archives, image files or URLs (none: scikit-image's color samples)")
    parser.add_argument("--out", default=str(PREPARED_DIR / "default"),
                        help=f"output folder: a new or empty one, or one colorgan prepared (default: "
                             f"{PREPARED_DIR / 'default'})")
    parser.add_argument("--size", type=int, default=256, help="short side of the stored photos (default: 256)")
    parser.add_argument("--val-fraction", type=float, default=0.05,
                        help="fraction of photos for validation (default: 0.05; 1: a folder to validate "
                             "on only, for a run's extra_val_dirs)")
    parser.add_argument("--seed", type=int, default=0, help="changes which photos go to validation (default: 0)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")


def run(args):
    # Here, as every command's heavy imports (cli): preparation loads scikit-image and OpenCV.
    from colorgan.data.preparation import format_dropped, format_summary, prepare

    # Typed paths are relative to the current folder (the Python API keeps project-relative ones).
    sources = [source if is_url(source) else str(from_cwd(source)) for source in args.sources]
    out = from_cwd(args.out)
    try:
        summary = prepare(sources, out, size=args.size, val_fraction=args.val_fraction, seed=args.seed,
                          workers=args.workers)
    except ValueError as error:
        print(f"colorgan prepare: {error}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    if summary["dropped"]:
        print("not kept:\n" + format_dropped(out))
    print(f"-> {out} (summary.json, manifest.jsonl)")
    if summary["kept"] == 0:
        print("no usable color photo found: nothing to train on", file=sys.stderr)
        return 1
    return 0
