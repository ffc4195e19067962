"""Say which epoch a run's generator.keras is, by the selection rule, and record it in selection.json.

``colorgan train`` and notebook 03 do this after the last epoch. The rule (``colorgan.selection``) reads
the color monitor's validation figures in history.csv: the best PSNR among the epochs of the run's last
phase that are colorful enough, never the lowest validation L1 (which rewards sepia).
"""

import sys

HELP = "say which epoch a run's generator.keras is, by the selection rule (selection.json)"


def add_arguments(parser):
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run folder (models/<run_name>)")


def run(args):
    from colorgan import runs, selection
    from colorgan.paths import from_cwd

    folder = from_cwd(args.run_dir)
    if not folder.is_dir():
        print(f"error: no run folder {folder}", file=sys.stderr)
        return 2
    try:
        selection.select(folder)
    except runs.RunError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
