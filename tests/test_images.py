"""Reading photos of every mode, and refusing bad files with a reason that names them."""

import io

import numpy as np
import pytest
from PIL import Image

from colorgan import images
from colorgan.images import ImageError, read_rgb


def _save(image, path, **kwargs):
    image.save(path, **kwargs)
    return path


@pytest.fixture
def photo(sample_photos):
    return sample_photos["chelsea"][:60, :80]  # (60, 80, 3) real photo crop


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "P", "CMYK", "I;16", "1"])
def test_every_mode_reads_as_uint8_rgb(tmp_path, photo, mode):
    image = Image.fromarray(photo)
    if mode == "I;16":
        gray16 = (np.asarray(image.convert("L"), np.uint16) * 257).astype(np.uint16)
        image = Image.fromarray(gray16)  # 16-bit grayscale ("I;16")
    else:
        image = image.convert(mode)
    path = _save(image, tmp_path / ("x.jpg" if mode == "CMYK" else "x.png"))
    rgb = read_rgb(path)
    assert rgb.dtype == np.uint8 and rgb.shape == (60, 80, 3)
    if mode in ("L", "I;16"):
        gray = np.asarray(Image.fromarray(photo).convert("L"))
        assert np.abs(rgb[..., 0].astype(int) - gray).max() <= 1
        assert (rgb[..., 0] == rgb[..., 2]).all()
    if mode == "RGB":
        assert (rgb == photo).all()


def test_transparent_pixels_become_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[:2, :, :3] = (200, 10, 10)
    rgba[:2, :, 3] = 255  # top half opaque red, bottom half fully transparent
    rgb = read_rgb(_save(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png"))
    assert (rgb[:2] == (200, 10, 10)).all() and (rgb[2:] == 255).all()


def test_exif_orientation_is_applied(tmp_path, photo):
    image = Image.fromarray(photo)  # 80 wide, 60 high
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    rgb = read_rgb(_save(image, tmp_path / "r.jpg", exif=exif, quality=95))
    assert rgb.shape == (80, 60, 3)


def test_bytes_input(photo):
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="PNG")
    assert (read_rgb(buffer.getvalue()) == photo).all()


def test_bad_files_raise_image_error_naming_the_file(tmp_path, photo):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    full = io.BytesIO()
    Image.fromarray(photo).save(full, format="JPEG")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(full.getvalue()[: len(full.getvalue()) // 2])
    cases = {empty: "empty", text: "not an image", truncated: "corrupt or truncated"}
    for path, reason in cases.items():
        with pytest.raises(ImageError, match=reason) as info:
            read_rgb(path)
        assert info.value.source == str(path) and str(path) in str(info.value)


def test_empty_bytes_are_an_empty_file():
    with pytest.raises(ImageError, match="empty file"):
        read_rgb(b"")


def test_decompression_bomb_and_too_small_are_refused(tmp_path):
    big = _save(Image.new("L", (3000, 3000)), tmp_path / "big.png")
    with pytest.raises(ImageError, match="too large"):
        read_rgb(big, max_pixels=1_000_000)
    tiny = _save(Image.new("RGB", (5, 40)), tmp_path / "tiny.png")
    with pytest.raises(ImageError, match="too small"):
        read_rgb(tiny, min_size=8)


def test_big_jpeg_decodes_at_reduced_scale_but_never_below_the_asked_short_side(sample_photos):
    photo = Image.fromarray(sample_photos["astronaut"]).resize((2400, 1800))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    full = read_rgb(buffer.getvalue())
    reduced = read_rgb(buffer.getvalue(), short_side_at_least=256)
    assert full.shape == (1800, 2400, 3)
    assert reduced.shape == (450, 600, 3)  # 1/4 scale: 1/8 would be 225 < 256
    shrunk = np.asarray(Image.fromarray(full).resize((600, 450), Image.BOX), np.int16)
    assert np.abs(reduced.astype(np.int16) - shrunk).mean() < 3  # the same picture, not a crop
    png = io.BytesIO()
    photo.save(png, "PNG")
    assert read_rgb(png.getvalue(), short_side_at_least=256).shape == (1800, 2400, 3)  # only JPEG scales


def test_phone_photos_in_heic_read_like_any_other(tmp_path, photo):
    """iPhones save HEIC by default: read through the pillow-heif plugin, a colorgan dependency."""
    path = _save(Image.fromarray(photo), tmp_path / "IMG_0001.heic", quality=95)
    rgb = read_rgb(path)
    assert rgb.shape == (60, 80, 3) and np.abs(rgb.astype(int) - photo).mean() < 6  # lossy HEVC
    assert read_rgb(path.read_bytes()).shape == (60, 80, 3)  # as preparation reads it: bytes, no name


def test_heic_without_the_plugin_says_what_to_install(tmp_path, photo, monkeypatch):
    from colorgan import images

    path = _save(Image.fromarray(photo), tmp_path / "IMG_0001.heic")
    monkeypatch.setattr(images, "pillow_heif", None)  # as where pillow-heif is not installed
    monkeypatch.setattr(Image, "ID", [name for name in Image.ID if name != "HEIF"])
    with pytest.raises(ImageError, match=r"IMG_0001\.heic: needs pillow-heif.*pip install pillow-heif"):
        read_rgb(path)


def test_find_files_names_what_it_leaves_and_why(tmp_path, photo):
    from colorgan.images import find_files, find_images

    for name in ("a.png", "trip/IMG_0001.heic", "notes.txt", "trip/.DS_Store", "trip/._b.jpg", "README"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        _save(Image.fromarray(photo), tmp_path / name, format="PNG")
    photos, others = find_files(tmp_path)
    assert photos == find_images(tmp_path) == [tmp_path / "a.png", tmp_path / "trip" / "IMG_0001.heic"]
    reasons = {path.name: reason for path, reason in others}
    assert reasons.keys() == {"notes.txt", ".DS_Store", "._b.jpg", "README"}
    assert reasons["notes.txt"] == "unsupported file type: colorgan does not read .txt files"
    assert reasons["._b.jpg"].startswith("hidden file") and reasons["README"].startswith("unsupported file type")


@pytest.mark.parametrize("options", [{"quality": 90}, {"quality": 75, "subsampling": 0}, {"quality": 95, "progressive": True}])
def test_a_plain_jpeg_decoded_by_opencv_has_the_pixels_pillow_gives_it(tmp_path, sample_photos, options):
    for name in ("astronaut", "coffee"):
        for mode in ("RGB", "L"):
            path = tmp_path / f"{name}_{mode}.jpg"
            Image.fromarray(sample_photos[name][:301, :203]).convert(mode).save(path, **options)
            with Image.open(path) as image:
                assert images._jpeg_in_opencv(path, image) is not None  # the OpenCV road is the one taken
                expected = images.pil_to_rgb(image)
            assert np.array_equal(images.read_rgb(path), expected), (name, mode)
