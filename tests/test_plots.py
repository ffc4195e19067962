import numpy as np
from PIL import Image

from colorgan import plots


def test_a_long_row_title_is_wrapped_to_its_row_and_keeps_every_word(tmp_path):
    title = "EfficientNet-Lite0 encoder, L1 at 128 px, then NoGAN (enc_nogan)"
    rows = [[np.zeros((8, 8), np.uint8), np.full((8, 8, 3), 0.5)], [np.ones((8, 8, 3), np.uint8)]]
    figure = plots.image_grid(rows, row_titles=[title, "gray"], cell_size=2.2, path=tmp_path / "grid.png")
    label = figure.axes[0].get_ylabel()
    width = plots.row_title_width(2.2)
    assert len(title) > width and "\n" in label
    assert all(len(line) <= width for line in label.split("\n"))
    assert label.split() == title.split()  # wrapped, not cut
    assert figure.axes[2].get_ylabel() == "gray"  # short titles stay on one line
    assert Image.open(tmp_path / "grid.png").size == (440, 440)  # 2 x 2 cells of 2.2 in at 100 dpi
