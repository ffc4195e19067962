"""The ``colorgan`` command line. Each subcommand lives in ``colorgan/commands/<name>.py``.

A command module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``,
and keeps heavy imports (TensorFlow) inside ``run`` so ``colorgan --help`` answers at once.
"""

import argparse
import importlib
import pkgutil
import sys

import colorgan.commands


def _command_modules():
    for info in sorted(pkgutil.iter_modules(colorgan.commands.__path__), key=lambda info: info.name):
        if not info.name.startswith("_"):
            yield info.name, importlib.import_module(f"colorgan.commands.{info.name}")


def build_parser():
    parser = argparse.ArgumentParser(prog="colorgan", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"colorgan {colorgan.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _command_modules():
        sub = subparsers.add_parser(name, help=module.HELP, description=module.__doc__)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
