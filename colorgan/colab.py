"""Colab set-up: what each notebook's first cell does in Colab, in one place (elsewhere that cell does nothing).

Colab opens a notebook alone, from GitHub, so the cell itself must fetch the project before any of
colorgan can be imported; it clones it into ``paths.COLAB_DIR`` (a copy uploaded there is used as it
is), puts it on ``sys.path`` and calls ``install``. The cell is the same in every notebook
(``tests/test_notebooks.py`` checks that), so what it does beyond fetching lives here.
"""

import os
import subprocess
import sys

from colorgan.paths import COLAB_DIR


def install(project=COLAB_DIR):
    """Install the fetched project editable, with its dependencies (a few minutes), and work from its notebooks."""
    # Colab's own TensorFlow and NumPy meet colorgan's lower bounds, so pip keeps them (no restart needed).
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", project], check=True)
    os.chdir(f"{project}/notebooks")
