"""Where things live. Every path of the project comes from here, never from the working directory.

Paths a user types on the command line are the exception: they mean what they mean in every other
command-line tool, relative to the current folder (``from_cwd``). Notebooks and parameter profiles keep
project-relative paths (``resolve``): papermill runs them from any folder.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
PREPARED_DIR = DATA_DIR / "prepared"
MODELS_DIR = PROJECT_ROOT / "models"
BUILD_DIR = PROJECT_ROOT / "build"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
PARAMS_DIR = PROJECT_ROOT / "params"
# Real photos for development and CI live beside the project, never inside it.
SHARED_DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"
# The project on GitHub: each notebook's "Open in Colab" link, and the Colab install cell's clone.
REPOSITORY = "https://github.com/colorgan/colorgan"
COLAB_DIR = "/content/colorgan"  # where that cell puts the project inside Colab


def from_cwd(path) -> Path:
    """A path typed by a user: relative to the current folder, made absolute (``~`` expanded)."""
    return Path(path).expanduser().absolute()


def resolve(path) -> Path:
    """Resolve a user path: absolute paths stay, relative ones are taken from the project root.

    Notebooks run with papermill from any working directory, so a parameter such as
    "data/prepared/default" must mean the same folder everywhere.
    """
    path = Path(path).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path
