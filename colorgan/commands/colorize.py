"""Colorize photos with a trained generator: files and folders (recursive) in, same-size color photos out.

Output names mirror the inputs: a file goes to OUT_DIR/<its name>, a folder's photos to
OUT_DIR/<path inside the folder>. Bad files are skipped with their reason; the exit code is 1
if any input failed.
"""

import sys
from pathlib import Path

HELP = "colorize photos (files or folders) at full resolution with a trained generator"

# Formats we write back as themselves; anything else (GIF, PGM, ...) is written as PNG.
_WRITABLE = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def add_arguments(parser):
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="photo files and/or folders (searched recursively)")
    parser.add_argument("-o", "--out", required=True, metavar="OUT_DIR", help="folder for the colorized photos")
    parser.add_argument("--model", default=None, metavar="PATH_OR_URL",
                        help="generator .keras file, or URL#sha256=<hex> (downloaded once, checksum verified); "
                             "default: the newest models/*/generator.keras, else the generator shipped with colorgan")
    parser.add_argument("--color-strength", type=float, default=1.0, metavar="S",
                        help="1 (default): the run's calibrated colors; 0: gray; 1.5: half again as strong")
    parser.add_argument("--batch-size", type=int, default=8, help="photos per generator call (default: 8)")
    parser.add_argument("--working-size", type=int, default=None,
                        help="long side the network sees (default: image_size of the run's config.json, else 256)")


def collect_jobs(inputs, out_dir):
    """Inputs -> ([(source, destination)], [(input, reason)]): what to colorize and what cannot be."""
    from colorgan import images

    jobs, failures, taken = [], [], {}
    for given in map(Path, inputs):
        if given.is_dir():
            pairs = [(path, path.relative_to(given)) for path in images.find_images(given)]
            if not pairs:
                failures.append((given, "folder holds no image files"))
        elif given.is_file():
            pairs = [(given, Path(given.name))]
        else:
            failures.append((given, "no such file or folder"))
            continue
        for source, relative in pairs:
            if relative.suffix.lower() not in _WRITABLE:
                relative = relative.with_suffix(".png")
            destination = Path(out_dir) / relative
            if destination in taken:
                failures.append((source, f"its output {destination} is already the output of {taken[destination]}"))
                continue
            taken[destination] = source
            jobs.append((source, destination))
    return jobs, failures


def _write(rgb, destination):
    import cv2

    destination.parent.mkdir(parents=True, exist_ok=True)
    quality = [cv2.IMWRITE_JPEG_QUALITY, 95] if destination.suffix.lower() in (".jpg", ".jpeg") else []
    if not cv2.imwrite(str(destination), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), quality):  # OpenCV writes BGR
        raise OSError(f"could not write {destination}")


def _colorize_one_batch(generator, batch, working_size, failures, color_strength=1.0):
    """Read, colorize and write one batch; a file that fails is recorded and the rest go on."""
    from colorgan import images, inference

    photos, readable = [], []
    for source, destination in batch:
        try:
            photos.append(images.read_rgb(source))
            readable.append((source, destination))
        except (images.ImageError, OSError) as error:
            failures.append((source, getattr(error, "reason", str(error))))
    if not photos:
        return 0
    done = 0
    colored = inference.colorize_batch(generator, photos, working_size=working_size, batch_size=len(photos),
                                       color_strength=color_strength)
    for (source, destination), rgb in zip(readable, colored, strict=True):
        try:
            _write(rgb, destination)
            done += 1
        except OSError as error:
            failures.append((source, str(error)))
    return done


def run(args):
    from tqdm import tqdm

    from colorgan import inference, shipped
    from colorgan.paths import resolve

    if args.batch_size < 1:
        raise SystemExit("--batch-size must be at least 1")
    if not args.color_strength >= 0:
        raise SystemExit("--color-strength must be a number >= 0 (0: gray, 1: calibrated)")
    try:
        model_path, where = shipped.resolve_model(args.model)
        model_path = resolve(model_path)
        generator = inference.load_generator(model_path)
    except ValueError as error:  # ModelError, a bad URL or checksum
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"generator: {model_path} ({where}; color gain {generator.color_gain:g} x strength {args.color_strength:g})",
          flush=True)
    out_dir = Path(args.out)
    jobs, failures = collect_jobs(args.inputs, out_dir)
    for source, reason in failures:  # missing inputs, empty folders, name collisions
        print(f"skipped {source}: {reason}")
    done = 0
    with tqdm(total=len(jobs), unit="photo", desc="colorizing") as progress:
        for start in range(0, len(jobs), args.batch_size):
            batch = jobs[start:start + args.batch_size]
            before = len(failures)
            done += _colorize_one_batch(generator, batch, args.working_size, failures, args.color_strength)
            for source, reason in failures[before:]:
                progress.write(f"skipped {source}: {reason}")
            progress.update(len(batch))
    print(f"colorized {done} of {len(jobs)} photos into {out_dir} with {model_path}"
          + (f"; {len(failures)} failed" if failures else ""))
    return 1 if failures else 0
