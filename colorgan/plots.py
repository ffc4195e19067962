"""Pictures of data and results: image grids and Lab channel panels for notebooks and run folders."""

import textwrap

import matplotlib

if matplotlib.get_backend().lower() not in ("module://matplotlib_inline.backend_inline", "nbagg", "widget"):
    matplotlib.use("Agg")  # headless (papermill, CI, make): never try to open a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def row_title_width(cell_size):
    """Characters of a row title per line: ~12 per inch of row height at the default 10-point font."""
    return max(8, int(12 * cell_size))


def image_grid(rows, row_titles=None, column_titles=None, cell_size=2.0, path=None):
    """Draw a grid of images: ``rows`` is a list of rows, each a list of arrays (H, W) or (H, W, 3).

    Grayscale arrays are shown in gray; floats are expected in [0, 1], uint8 in [0, 255]. A row title
    longer than its row is tall is wrapped onto several lines (a scoreboard's recipe labels are long).
    Saves to ``path`` (PNG) when given, and returns the figure.
    """
    n_rows, n_cols = len(rows), max(len(row) for row in rows)
    figure, axes = plt.subplots(n_rows, n_cols, figsize=(cell_size * n_cols, cell_size * n_rows), squeeze=False)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            axis = axes[r][c]
            axis.set_xticks([])
            axis.set_yticks([])
            for spine in axis.spines.values():
                spine.set_visible(False)
            if c < len(row) and row[c] is not None:
                image = np.asarray(row[c])
                if image.ndim == 3 and image.shape[-1] == 1:
                    image = image[..., 0]
                axis.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0,
                            vmax=255 if image.dtype == np.uint8 else 1)
            if row_titles is not None and c == 0:
                axis.set_ylabel(textwrap.fill(row_titles[r], width=row_title_width(cell_size)))
            if column_titles is not None and r == 0 and c < len(column_titles):
                axis.set_title(column_titles[c], fontsize=9)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure


def lab_panels(lab):
    """Lab image (H, W, 3) -> three displayable panels in [0, 1]: L, a and b.

    a and b are centred at 0.5 (mid-gray = no color) and stretched over +-64, where nearly
    all photo colors lie, so their structure is visible.
    """
    lab = np.asarray(lab, np.float32)
    lightness = lab[..., 0] / 100.0
    a = np.clip(lab[..., 1] / 128.0 + 0.5, 0, 1)
    b = np.clip(lab[..., 2] / 128.0 + 0.5, 0, 1)
    return [lightness, a, b]
