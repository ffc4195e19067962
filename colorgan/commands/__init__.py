"""Subcommands of the ``colorgan`` command line, discovered by ``colorgan.cli``."""
