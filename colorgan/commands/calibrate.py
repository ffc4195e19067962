"""Calibrate a run's color gain again: the gain on ab that ``colorize`` applies by default.

``colorgan train`` and notebook 03 do this after the last epoch (``calibrate: false`` skips it); run it
again after changing the margins or the working sizes tried, or after choosing another generator.keras.
Writes color_gain.json and the gain inside generator.keras.
"""

import sys

HELP = "calibrate a run's color gain on its validation photos (color_gain.json)"


def add_arguments(parser):
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run folder (models/<run_name>)")
    parser.add_argument("--margin-db", type=float, default=None, help="PSNR to beat gray by (default: the run's, 0.5)")
    parser.add_argument("--margin-ciede", type=float, default=None,
                        help="CIEDE2000 to beat gray by (default: the run's, 0.5)")
    parser.add_argument("--working-size-factors", type=float, nargs="+", default=None, metavar="F",
                        help="working sizes to try, as multiples of the run's image_size "
                             "(default: the run's; new runs 1 1.5 2 2.5 3 3.5 4)")


def run(args):
    from colorgan import calibration, runs
    from colorgan.config import read_run_config
    from colorgan.paths import from_cwd

    folder = from_cwd(args.run_dir)
    if not (folder / runs.GENERATOR_NAME).is_file():
        print(f"error: no {runs.GENERATOR_NAME} in {folder}", file=sys.stderr)
        return 2
    config = read_run_config(folder)
    if args.margin_db is not None:
        config["strength_margin_db"] = args.margin_db
    if args.margin_ciede is not None:
        config["strength_margin_ciede"] = args.margin_ciede
    if args.working_size_factors is not None:
        if min(args.working_size_factors) <= 0:
            print(f"error: --working-size-factors must be positive, got {args.working_size_factors}", file=sys.stderr)
            return 2
        config["working_size_factors"] = args.working_size_factors
    try:
        calibration.calibrate(folder, config)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
