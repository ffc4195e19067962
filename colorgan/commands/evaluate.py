"""Score a trained generator on a folder of color photos, beside the gray baseline, and save metrics.json.

Each photo's grayscale version is colorized and compared with the photo; the gray version itself
is scored too, because PSNR and SSIM reward gray output. Default data: the validation photos of the
run the model comes from (prepared_dir's val split and any extra_val_dirs, from the config.json beside it).
"""

import sys

from colorgan import paths, shipped
from colorgan.paths import from_cwd

HELP = "metrics of a generator on color photos (PSNR, SSIM, CIEDE2000, AUC, colorfulness) beside gray"


def add_arguments(parser):
    parser.add_argument("--model", default=None, metavar="PATH",
                        help="shipped (default), newest (your newest run), a generator .keras file or URL#sha256=<hex>")
    parser.add_argument("--data", default=None, metavar="DIR", action="append",
                        help="folder of color photos; repeat it for several (default: the validation photos of the "
                             "model's run: <prepared_dir>/val and its extra_val_dirs)")
    parser.add_argument("--max-images", type=int, default=None, metavar="N", help="a seeded random subset of N photos")
    parser.add_argument("--seed", type=int, default=0, help="seed of that subset (default: 0)")
    parser.add_argument("--out", default=None, metavar="JSON",
                        help="where to write the metrics (default: metrics.json beside the model; for the "
                             "shipped generator build/metrics/shipped_generator.json)")
    parser.add_argument("--batch-size", type=int, default=8, help="photos per generator call (default: 8)")


def run(args):
    from tqdm import tqdm  # here, as every command's heavy imports (cli): --help answers at once

    from colorgan import colorizers, evaluate

    try:
        colorizer = colorizers.load(args.model)
        model_path = colorizer.path
        print(f"generator: {model_path} ({colorizer.source}; color gain {colorizer.gain:g})", flush=True)
        data_dirs = [from_cwd(folder) for folder in args.data] if args.data else evaluate.default_data_dirs(model_path)
        photo_paths = evaluate.list_photos(data_dirs, args.max_images, args.seed)
    except ValueError as error:  # ModelError included: a missing model, folder or config, said plainly
        print(f"error: {error}", file=sys.stderr)
        return 2
    with tqdm(total=len(photo_paths), unit="photo", desc="evaluating") as progress:
        result = evaluate.evaluate(colorizer, photo_paths, batch_size=args.batch_size, progress=progress.update)
    for entry in result["skipped"]:
        print(f"skipped {entry['file']}: {entry['reason']}")
    out = from_cwd(args.out) if args.out else default_out(model_path)
    evaluate.write_json(result, out, model_path=str(model_path), data_dir=", ".join(map(str, data_dirs)))
    print(evaluate.format_table(result))
    print(f"-> {out}")
    return 0


def default_out(model_path):
    """metrics.json beside the model, except for the shipped generator: the package is not a place to
    write into (it may be read-only, and is not the user's), so build/metrics/shipped_generator.json."""
    if model_path.resolve().parent == shipped.PRETRAINED_DIR:
        return paths.BUILD_DIR / "metrics" / "shipped_generator.json"
    return model_path.with_name("metrics.json")
