"""Average a U-Net run and an EfficientNet-encoder run into one generator, and calibrate its color gain.

The U-Net trained from scratch keeps its colors close to the truth but paints a sepia average; the encoder
U-Net knows grass from a sweater but paints its guesses boldly, wrong ones too. Their average (one Keras
network, ``colorgan.ensemble``; the stage: ``colorgan.averaging``) is v0.3's generator: README, issue 17. The
members must have validated on the same photos; the average is calibrated there. Example (``make train-cpu`` does this after training both):
``colorgan average models/cpu_unet models/cpu_encoder --out models/cpu --margin-ciede 1.0``.
"""

import sys

HELP = "average a U-Net run and an encoder run into one generator (encoder: both) and calibrate it"


def add_arguments(parser):
    parser.add_argument("members", nargs=2, metavar="RUN", help="two run folders (or generator .keras files): "
                        "one U-Net (encoder none), one EfficientNet-encoder (efficientnet_lite0), in any order")
    parser.add_argument("--out", required=True, help="the new run folder (models/<name>); one that holds a run is "
                        "refused")
    parser.add_argument("--margin-db", type=float, default=None, help="PSNR to beat gray by (default 0.5)")
    parser.add_argument("--margin-ciede", type=float, default=None, help="CIEDE2000 to beat gray by (default 0.5)")
    parser.add_argument("--working-size-factors", type=float, nargs="+", default=None, metavar="F",
                        help="working sizes to try, as multiples of the U-Net's image_size (default: every size "
                             "either member was calibrated at)")
    parser.add_argument("--no-calibrate", action="store_true", help="write the generator only (gain 1)")


def run(args):
    from colorgan import averaging, runs
    from colorgan.paths import from_cwd

    if args.working_size_factors is not None and min(args.working_size_factors) <= 0:
        print(f"error: --working-size-factors must be positive, got {args.working_size_factors}", file=sys.stderr)
        return 2
    try:
        averaging.average([from_cwd(path) for path in args.members], from_cwd(args.out),
                         calibrate=not args.no_calibrate, working_size_factors=args.working_size_factors,
                         margin_db=args.margin_db, margin_ciede=args.margin_ciede)
    except (averaging.AverageError, runs.RunError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
