"""Run the numbered notebooks headless with papermill, in order, with a parameter profile.

Example: ``colorgan notebooks --params params/train.yaml 01 02 03`` (what ``make train`` runs).
Without ``--params`` the notebooks run with their own defaults, as opened by hand in Jupyter.
A name that no notebook declares (a typo such as ``epoch``) is refused with the list of known ones.
"""

import os
import sys

import yaml

from colorgan import quiet
from colorgan.notebooks import NotebookFailed, run_notebooks

HELP = "run the numbered notebooks headless with a parameter profile (what make train and make demo do)"


def add_arguments(parser):
    parser.add_argument("notebooks", nargs="*", help="numbers or names to run (default: all, in order)")
    parser.add_argument("--params", help="parameter profile, e.g. params/demo.yaml (default: the notebooks' own)")
    parser.add_argument("-p", "--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override one parameter (YAML value), e.g. -p epochs=5")
    parser.add_argument("--output-dir", help="where executed copies go (default: build/notebooks/<profile>)")


def run(args):
    overrides = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects NAME=VALUE, got {item!r}")
        overrides[name] = yaml.safe_load(value)
    verbose = args.verbose or quiet.verbose_requested()
    if verbose:
        os.environ["COLORGAN_VERBOSE"] = "1"  # the kernels inherit it (``quiet.in_notebook``)
    try:
        run_notebooks(args.params, args.notebooks or None, args.output_dir, overrides, stream=sys.stdout,
                      quiet=not verbose)
    except ValueError as error:  # a missing or malformed profile, an unknown name or notebook
        print(f"colorgan notebooks: {error}", file=sys.stderr)
        return 2
    except NotebookFailed as error:
        print(f"colorgan notebooks: {error}", file=sys.stderr)
        return 1
    return 0
