"""Colorize photos with a trained generator: files and folders (recursive) in, same-size color photos out.

Films (mp4, mov, avi, mkv, webm, ...) come out as H.264 MP4 with their frame count, size, frame rate and
sound, their colors carried along the motion so they do not flicker (``--per-frame``: each frame alone).

Output names mirror the inputs: a file goes to OUT_DIR/<its name>, a folder's photos to
OUT_DIR/<path inside the folder>. colorgan replaces no file it did not write: an output that would
replace an input, or land inside an input folder, is refused, and so is any file already in OUT_DIR
that colorgan did not write, even with --overwrite. Photos colorgan colorized before are kept (a re-run
colorizes only what is missing) unless --overwrite. 16-bit PNG and TIFF scans come back at 16 bits;
DPI, EXIF and ICC profiles are carried over where the output format holds them. Every file that is not
colorized is named with its reason; the exit code is 1 if any photo failed.
The generator is the one shipped with colorgan unless --model names another.
"""

import sys
from pathlib import Path

from colorgan import engines

HELP = "colorize photos and films (files or folders) at full resolution with a trained generator"


def add_arguments(parser):
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="photo and video files and/or folders (searched recursively)")
    parser.add_argument("-o", "--out", required=True, metavar="OUT_DIR",
                        help="folder for the colorized photos (not an input folder)")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo photos already colorized in OUT_DIR (default: keep them; inputs are never replaced)")
    parser.add_argument("--model", default="shipped", metavar="MODEL",
                        help="shipped (default: the generator shipped with colorgan), newest (your newest run, "
                             "models/*/generator.keras), a generator .keras file or run folder, or URL#sha256=<hex> "
                             "(downloaded once into ~/.cache/colorgan, checksum verified)")
    parser.add_argument("--engine", choices=engines.CHOICES, default="auto",
                        help="what runs the generator: onnx (ONNX Runtime, starts in a fraction of a second), "
                             "tensorflow, or auto (default: onnx when installed, else tensorflow)")
    parser.add_argument("--color-strength", type=float, default=1.0, metavar="S",
                        help="1 (default): the run's calibrated colors; 0: gray; 1.5: half again as strong")
    parser.add_argument("--batch-size", type=int, default=8, help="photos per generator call (default: 8)")
    parser.add_argument("--per-frame", action="store_true",
                        help="films: colorize each frame alone, as a photo (default: colors carried along the motion)")
    parser.add_argument("--max-pixels", type=int, default=100_000_000, metavar="N",
                        help="refuse photos above N pixels (default: 100,000,000, a guard against decompression "
                             "bombs); raise it to colorize bigger scans on purpose (a 1200 dpi 8x10 print is 115 MP)")
    parser.add_argument("--working-size", type=int, default=None,
                        help="long side the network sees, in pixels (default: the one calibrated with the generator, "
                             "carried in its .keras file or color_gain.json beside it; else its run's image_size)")


def run(args):
    from tqdm import tqdm  # here, as every command's heavy imports (cli): --help answers at once

    from colorgan import batch, colorizers

    if args.batch_size < 1:
        raise SystemExit("--batch-size must be at least 1")
    if not args.color_strength >= 0:
        raise SystemExit("--color-strength must be a number >= 0 (0: gray, 1: calibrated)")
    out_dir = Path(args.out)
    try:
        planned = batch.plan(args.inputs, out_dir, overwrite=args.overwrite)  # refuses to touch an input first
        batch.check_writable(out_dir)  # before the generator loads and any photo is colorized
        colorizer = colorizers.load(args.model, engine=args.engine)
    except ValueError as error:  # ModelError, a bad URL or checksum included
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"generator: {colorizer.path} ({colorizer.source}; {colorizer.engine} engine; "
          f"color gain {colorizer.gain:g} x strength {args.color_strength:g})", flush=True)
    with tqdm(total=len(planned.todo), unit="file", desc="colorizing") as progress:
        report = batch.colorize_files(colorizer, args.inputs, out_dir, overwrite=args.overwrite,
                                      batch_size=args.batch_size, working_size=args.working_size,
                                      progress=progress.update, max_pixels=args.max_pixels,
                                      color_strength=args.color_strength, stable=not args.per_frame,
                                      video_progress=True)
    for path, reason in report.not_read + report.failed:
        print(f"skipped {path}: {reason}")
    print(report.summary(out_dir, redo_hint="--overwrite redoes them"))
    return 1 if report.failed else 0
