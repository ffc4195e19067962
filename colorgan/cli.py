"""The ``colorgan`` command line. Each subcommand lives in ``colorgan/commands/<name>.py``.

A command module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``,
and keeps heavy imports (TensorFlow) inside ``run`` so ``colorgan --help`` answers at once.
Commands are quiet: TensorFlow's C++ start-up logs show only with ``--verbose`` (see ``colorgan.quiet``).
"""

import argparse
import importlib
import pkgutil
import sys

import colorgan.commands
from colorgan import quiet

DESCRIPTION = """Colorize black-and-white photos at their full resolution (a pix2pix GAN in Keras).
A generator ships with colorgan, so it works at once; you can also train your own on your photos."""
EXAMPLES = """examples:
  colorgan colorize old/photos -o colorized    colorize every photo in a folder (yours are never overwritten)
  colorgan app                                 the same in your browser: drop photos, compare, download
  colorgan prepare ~/Pictures --out data/prepared/mine && make train-cpu PREPARED=data/prepared/mine

'colorgan COMMAND --help' describes each command."""


def _command_modules():
    for info in sorted(pkgutil.iter_modules(colorgan.commands.__path__), key=lambda info: info.name):
        if not info.name.startswith("_"):
            yield info.name, importlib.import_module(f"colorgan.commands.{info.name}")


def _verbose_option(parser, default):
    parser.add_argument("-v", "--verbose", action="store_true", default=default,
                        help="show TensorFlow's start-up logs (hidden by default: they are not errors)")


def build_parser():
    parser = argparse.ArgumentParser(prog="colorgan", description=DESCRIPTION, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"colorgan {colorgan.__version__}")
    _verbose_option(parser, default=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _command_modules():
        sub = subparsers.add_parser(name, help=module.HELP, description=module.__doc__)
        _verbose_option(sub, default=argparse.SUPPRESS)  # before or after the command name
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def _print_any_name():
    """File names need not be UTF-8 (Python keeps their bytes as surrogates): print them escaped instead of
    crashing the final report, after the work is done, under a strict UTF-8 stdout."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def main(argv=None):
    _print_any_name()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    verbose = args.verbose or quiet.verbose_requested()
    undo_quiet = (lambda: None) if verbose else quiet.quiet_tensorflow()
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        undo_quiet()
