"""Restorers' files: 16 bits in, 16 bits out; DPI, EXIF and ICC carried over; big scans on purpose, in bounds."""

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from colorgan import cli, color, images
from tests.test_batch import model_file  # noqa: F401 (a fixture: the tiny generator saved as a run would)

SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _scan_16(height=48, width=64):
    """A smooth 16-bit gray scan: most levels are not multiples of 257 (not 8-bit levels in disguise)."""
    rows, columns = np.mgrid[0:height, 0:width]
    return (3000 + rows * 700 + columns * 311).astype(np.uint16)


def _colorize(*args, model):
    return cli.main(["colorize", *map(str, args), "--model", str(model)])


def test_a_16_bit_tiff_scan_comes_back_16_bit_with_its_dpi_date_description_and_profile(tmp_path, model_file):  # noqa: F811
    scan = _scan_16()
    tifffile.imwrite(tmp_path / "scan.tif", scan, resolution=(600, 600), resolutionunit="INCH",
                     description="Grandma, Lisbon 1952", datetime="1952:06:01 10:00:00",
                     extratags=[(34675, 7, len(SRGB_PROFILE), SRGB_PROFILE, True)], metadata=None)
    assert _colorize(tmp_path / "scan.tif", "-o", tmp_path / "out", model=model_file) == 0
    colored = cv2.imread(str(tmp_path / "out" / "scan.tif"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert colored.dtype == np.uint16 and colored.shape == (*scan.shape, 3)
    assert len(np.unique(colored[..., 1])) > 1000 and np.any(colored % 257)  # real 16-bit levels
    gray = np.repeat(scan[..., None], 3, axis=-1)
    in_gamut = (colored > 0).all(axis=-1) & (colored < 65535).all(axis=-1)  # not clipped to the sRGB gamut
    difference = np.abs(color.lightness_u16(colored) - color.lightness_u16(gray))[in_gamut]
    assert in_gamut.sum() > 500 and difference.max() < 0.02  # its own L, at 16-bit precision (8 bits: 0.2)
    assert np.abs(colored[..., 0].astype(int) - colored[..., 2]).mean() > 1000  # and colors
    with Image.open(tmp_path / "out" / "scan.tif") as output:
        exif = output.getexif()
        assert output.info["dpi"] == (600, 600) and output.info["icc_profile"] == SRGB_PROFILE
        assert exif[270] == "Grandma, Lisbon 1952" and exif[306] == "1952:06:01 10:00:00"


def test_a_16_bit_png_comes_back_16_bit_with_its_dpi_and_profile(tmp_path, model_file):  # noqa: F811
    rgb = np.repeat(_scan_16()[..., None], 3, axis=-1)
    encoded = cv2.imencode(".png", rgb)[1].tobytes()
    from colorgan import photofile

    png = photofile._with_png_chunks(encoded, photofile.Extras(dpi=(1200.0, 1200.0), icc_profile=SRGB_PROFILE))
    (tmp_path / "print.png").write_bytes(png)
    assert _colorize(tmp_path / "print.png", "-o", tmp_path / "out", model=model_file) == 0
    colored = cv2.imread(str(tmp_path / "out" / "print.png"), cv2.IMREAD_UNCHANGED)
    assert colored.dtype == np.uint16 and np.any(colored % 257)
    with Image.open(tmp_path / "out" / "print.png") as output:
        assert [round(value) for value in output.info["dpi"]] == [1200, 1200]
        assert output.info["icc_profile"] == SRGB_PROFILE


def test_a_jpeg_keeps_its_exif_date_description_dpi_and_profile_but_not_its_orientation(tmp_path, sample_photos,
                                                                                       model_file):  # noqa: F811
    exif = Image.Exif()
    exif[270], exif[0x0112] = "First communion", 6  # stored sideways: turned upright when read
    exif[0x8769] = {0x9003: "1961:05:14 11:30:00"}
    photo = Image.fromarray(sample_photos["coffee"][:40, :60]).convert("L")
    photo.save(tmp_path / "photo.jpg", exif=exif.tobytes(), dpi=(300, 300), icc_profile=SRGB_PROFILE, quality=95)
    assert _colorize(tmp_path / "photo.jpg", "-o", tmp_path / "out", model=model_file) == 0
    with Image.open(tmp_path / "out" / "photo.jpg") as output:
        carried = output.getexif()
        assert output.size == (40, 60)  # upright, and no orientation tag to turn it again
        assert 0x0112 not in carried and carried[270] == "First communion"
        assert carried.get_ifd(0x8769)[0x9003] == "1961:05:14 11:30:00"
        assert output.info["dpi"] == (300, 300) and output.info["icc_profile"] == SRGB_PROFILE


def test_max_pixels_refuses_with_the_way_past_it_and_lets_a_big_scan_through_on_purpose(tmp_path, sample_photos,
                                                                                        model_file, capsys):  # noqa: F811
    Image.fromarray(sample_photos["coffee"][:40, :60]).save(tmp_path / "a.png")
    assert _colorize(tmp_path / "a.png", "-o", tmp_path / "out", "--max-pixels", 1000, model=model_file) == 1
    assert "too large: 60x40 pixels is above the limit of 1,000" in capsys.readouterr().out
    assert "--max-pixels N raises it" in images.too_large(60, 40, 1000)
    # Above Pillow's own decompression-bomb guard (89 MP): a 100 MP scan passes when the caller allows it.
    Image.new("1", (10_001, 10_000)).save(tmp_path / "big.png")
    with pytest.raises(images.ImageError, match="too large"):
        images.read_rgb(tmp_path / "big.png")
    assert images.read_rgb(tmp_path / "big.png", max_pixels=150_000_000).shape == (10_000, 10_001, 3)
