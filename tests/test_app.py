"""The web app: colorizes uploads as `colorgan colorize` does, and works in a real headless browser."""

import os
import urllib.request
import zipfile

import cv2
import numpy as np
import pytest
from PIL import Image

from colorgan import browser, color, colorizers, images, shipped

pytest.importorskip("gradio", reason="the web app needs Gradio (pip install 'colorgan[app]')")

from colorgan import app  # noqa: E402  (after the skip: it imports Gradio's settings module only)


@pytest.fixture(scope="module")
def generator():
    return colorizers.load(shipped.SHIPPED_GENERATOR)


@pytest.fixture
def gray_photo(tmp_path, sample_photos):
    """A small gray photo with a size that is no multiple of anything (97 x 61)."""
    gray = cv2.cvtColor(cv2.resize(sample_photos["astronaut"], (97, 61), interpolation=cv2.INTER_AREA),
                        cv2.COLOR_RGB2GRAY)
    path = tmp_path / "gray.png"
    cv2.imwrite(str(path), gray)
    return path, gray


def chroma(rgb):
    """Mean chroma (sqrt(a^2 + b^2) in CIELAB): ~0 for a gray photo."""
    lab = color.rgb_u8_to_lab(rgb)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def test_uploads_are_colorized_at_full_size_with_their_lightness(generator, gray_photo, tmp_path):
    path, gray = gray_photo
    report, pairs, archive = app.colorize_uploads(generator, [path], out_dir=tmp_path / "out")
    assert [source for source, _ in pairs] == [path]
    colored = images.read_rgb(pairs[0][1])
    assert colored.shape == (61, 97, 3)
    assert chroma(colored) > 3 > chroma(images.read_rgb(path))
    # The photo's own lightness (CIELAB L, 0-100): only the color comes from the network (8-bit rounding aside).
    lightness = color.lightness_u8(np.repeat(gray[..., None], 3, axis=-1))
    assert np.abs(color.lightness_u8(colored) - lightness).mean() < 1
    with zipfile.ZipFile(archive) as bundle:
        assert bundle.namelist() == ["gray.png"]
        assert images.read_rgb(bundle.read("gray.png")).shape == (61, 97, 3)


def test_exif_orientation_is_applied_and_skipped_files_are_named(generator, sample_photos, tmp_path):
    upright = cv2.resize(sample_photos["coffee"], (60, 40))  # (40, 60): wide
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display": the photo is tall as shown
    rotated = tmp_path / "phone.jpg"
    Image.fromarray(upright).save(rotated, exif=exif)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    report, pairs, _ = app.colorize_uploads(generator, [rotated, broken], color_strength=0.5,
                                            out_dir=tmp_path / "out")
    assert images.read_rgb(pairs[0][1]).shape == (60, 40, 3)
    status = app.status_text(report, pairs)
    assert status.startswith("Colorized 1 of 2 photos.")
    assert "broken.jpg" in status


def test_zero_strength_gives_the_gray_photo_back(generator, gray_photo, tmp_path):
    path, _ = gray_photo
    _, pairs, _ = app.colorize_uploads(generator, [path], color_strength=0.0, out_dir=tmp_path / "out")
    assert chroma(images.read_rgb(pairs[0][1])) < 1


@pytest.fixture(scope="module")
def served():
    """The app on a free port of 127.0.0.1, as `colorgan app` serves it."""
    page = app.launch(port=None, prevent_thread_lock=True, quiet=True)
    yield page
    page.close()


def test_a_browser_uploads_a_gray_photo_and_downloads_it_colorized(served, gray_photo):
    why = browser.missing()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser test: {why}")
        pytest.skip(why)
    assert served.server_name == "127.0.0.1"
    path, gray = gray_photo
    driver = browser.chromium()
    try:
        browser.open_app(driver, served.local_url)
        status, links = browser.upload_and_wait(driver, [path])
    finally:
        driver.quit()
    assert status == "Colorized 1 of 1 photo."
    assert set(links) == {"gray.png", app.ZIP_NAME}
    with urllib.request.urlopen(links["gray.png"], timeout=30) as response:  # what the download link gives
        colored = images.read_rgb(response.read())
    assert colored.shape == (*gray.shape, 3)
    assert chroma(colored) > 3
