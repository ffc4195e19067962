"""``python -m colorgan``: the same command line as the ``colorgan`` script."""

from colorgan.cli import main

raise SystemExit(main())
