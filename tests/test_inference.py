"""Colorizing any photo: sizes, aspect ratios, every input mode, model loading errors, the colorize CLI."""

import json
import zipfile

import keras
import numpy as np
import pytest
from keras import layers
from PIL import Image
from skimage import color as skcolor

from colorgan import cli, color, colorizers, inference


def _stand_in_generator(input_channels=1, output_channels=2):
    """A tiny fully convolutional U-Net-like net from standard layers: (B, H, W, 1) -> (B, H, W, 2) tanh."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(None, None, input_channels))
    down1 = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)  # (B, H/2, W/2, 8)
    down2 = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(down1)  # (B, H/4, W/4, 8)
    up1 = layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(down2)
    up1 = layers.Concatenate()([up1, down1])
    up2 = layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(up1)
    outputs = layers.Conv2D(output_channels, 1, activation="tanh",
                            kernel_initializer=keras.initializers.RandomNormal(0.0, 0.5, seed=0))(up2)
    return keras.Model(inputs, outputs, name="generator")


@pytest.fixture(scope="module")
def generator():
    return _stand_in_generator()


@pytest.fixture(scope="module")
def saved_generator(tmp_path_factory, generator):
    """A run folder: generator.keras with a config.json saying the working size is 64."""
    folder = tmp_path_factory.mktemp("run")
    generator.save(folder / "generator.keras")
    (folder / "config.json").write_text(json.dumps({"run_name": "test", "image_size": 64}))
    return folder / "generator.keras"


class _RecordingGenerator:
    """Duck-typed generator: records the batches it sees; predicts a > 0 where L is bright (color follows shape)."""

    name, layers, input_shape = "recorder", [], (None, None, None, 1)

    def __init__(self):
        self.seen = []

    def __call__(self, batch, training=False):
        self.seen.append(batch.shape)
        return np.concatenate([np.maximum(batch, 0.0) * 0.5, np.zeros_like(batch)], axis=-1)


def _lightness(rgb):
    return color.lightness_u8(inference.to_rgb_u8(rgb))


@pytest.mark.parametrize("shape", [(1, 500), (501, 3), (333, 777), (1, 1), (64, 64)])
def test_output_has_exactly_the_input_size_for_odd_sizes_and_extreme_aspect_ratios(generator, rng, shape):
    gray = rng.integers(0, 256, shape, dtype=np.uint8)
    out = inference.colorize(generator, gray, working_size=64)
    assert out.shape == (*shape, 3) and out.dtype == np.uint8


def test_output_lightness_is_the_inputs_own_at_full_resolution(generator, sample_photos):
    for name in ("astronaut", "coffee"):
        photo = sample_photos[name]
        out = inference.colorize(generator, photo, working_size=64)  # the net sees 64 px, the output keeps 512
        delta = np.abs(_lightness(out) - _lightness(photo))
        assert delta.mean() < 1.0, f"{name}: mean |dL| = {delta.mean():.3f}"
        assert np.abs(skcolor.rgb2lab(out)[..., 1:]).mean() > 1.0, f"{name}: the output has no color at all"


def test_network_sees_the_working_resolution_with_the_aspect_ratio_kept():
    recorder = _RecordingGenerator()
    photo = np.zeros((300, 400), np.uint8)
    photo[:, 200:] = 255  # dark left half, bright right half
    out = inference.colorize(recorder, photo, working_size=64)
    assert recorder.seen == [(1, 64, 64, 1)]  # long side 400 -> 64, short side 300 -> 48, padded to 64
    a = skcolor.rgb2lab(out)[..., 1]
    # a follows L: where L is 100 the prediction is 0.5 * 110 = 55 (clipped by the gamut), where L is 0 it is 0.
    assert a[:, 220:].mean() > 5 and np.abs(a[:, :180]).mean() < 1.0  # no shift or stretch of the color


def test_a_constant_prediction_lands_as_that_color_at_full_resolution():
    """A generator that always predicts ab = (0.2, -0.3) must give a = 22, b = -33 everywhere (the 110 scale)."""
    inputs = keras.Input(shape=(None, None, 1))
    outputs = layers.Conv2D(2, 1, activation="tanh", kernel_initializer="zeros",
                            bias_initializer=keras.initializers.Constant(np.arctanh([0.2, -0.3])))(inputs)
    constant = keras.Model(inputs, outputs)
    out = inference.colorize(constant, np.full((123, 45), 128, np.uint8), working_size=16)
    ab = skcolor.rgb2lab(out)[..., 1:].reshape(-1, 2)
    assert np.abs(ab - [22.0, -33.0]).max() < 1.5  # up to 8-bit rounding


def test_the_projects_unet_generator_works_on_any_size():
    models = pytest.importorskip("colorgan.models")
    unet = models.build_generator(32, base_filters=4)
    assert inference.size_multiple(unet) == 32
    for shape in [(1, 500), (77, 33)]:
        assert inference.colorize(unet, np.zeros(shape, np.uint8), working_size=32).shape == (*shape, 3)


def _write_mode(path, mode, rgb):
    """Save ``rgb`` as a file of the given PIL mode (what cameras, scanners and editors produce)."""
    image = Image.fromarray(rgb)
    if mode == "RGB-gray":
        image = image.convert("L").convert("RGB")
    elif mode == "I;16":
        image = Image.fromarray(np.asarray(image.convert("L"), np.uint16) * 257)
    elif mode != "RGB":
        image = image.convert(mode)
    if mode == "CMYK":
        path = path.with_suffix(".jpg")  # CMYK comes as JPEG from print workflows
    image.save(path)
    with Image.open(path) as written:
        assert written.mode == {"RGB-gray": "RGB", "I;16": written.mode}.get(mode, mode)
        assert mode != "I;16" or written.mode in ("I", "I;16"), written.mode
    return path


@pytest.mark.parametrize("mode", ["L", "LA", "RGB-gray", "RGB", "RGBA", "P", "CMYK", "I;16"])
def test_every_input_mode_gives_a_color_photo_of_its_size(generator, sample_photos, tmp_path, mode):
    photo = sample_photos["chelsea"][:101, :153]  # odd sizes
    path = _write_mode(tmp_path / "photo.png", mode, photo)
    out = inference.colorize(generator, path, working_size=32)
    assert out.shape == (101, 153, 3) and out.dtype == np.uint8
    assert np.abs(_lightness(out) - _lightness(path)).mean() < 1.0


def test_exif_rotated_jpeg_comes_out_in_its_displayed_orientation(generator, sample_photos, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": the stored 153 x 101 is shown as 101 x 153
    path = tmp_path / "rotated.jpg"
    Image.fromarray(sample_photos["chelsea"][:101, :153]).save(path, exif=exif)
    assert inference.colorize(generator, path, working_size=32).shape == (153, 101, 3)


@pytest.mark.parametrize("array", [
    np.full((20, 30), 128, np.uint8), np.full((20, 30, 1), 0.5, np.float32), np.full((20, 30, 3), 40000, np.uint16),
    np.concatenate([np.full((20, 30, 3), 10, np.uint8), np.zeros((20, 30, 1), np.uint8)], axis=-1),
])
def test_array_inputs_of_every_layout_and_dtype(generator, array):
    out = inference.colorize(generator, array, working_size=32)
    assert out.shape == (20, 30, 3)
    if array.shape[-1] == 4:  # fully transparent: white paper, as a file would be
        assert np.array_equal(out, inference.colorize(generator, np.full((20, 30), 255, np.uint8), working_size=32))


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 2), np.uint8), np.zeros((0, 4), np.uint8), np.zeros((4, 4), np.int64)])
def test_unusable_arrays_raise_value_error(generator, bad):
    with pytest.raises(ValueError, match="expected"):
        inference.colorize(generator, bad)


def test_batch_equals_one_at_a_time(generator, sample_photos):
    photos = [sample_photos["astronaut"][:90, :200], sample_photos["coffee"][:150, :70]]
    batch = inference.colorize_batch(generator, photos, working_size=32)
    for photo, out in zip(photos, batch, strict=True):
        assert np.abs(out.astype(int) - inference.colorize(generator, photo, working_size=32)).max() <= 1


def test_loaded_generator_reads_working_size_from_config_and_colorizes_the_same(generator, saved_generator, rng):
    loaded = colorizers.load(saved_generator)
    assert loaded.working_size == 64
    photo = rng.integers(0, 256, (70, 90), dtype=np.uint8)
    assert np.array_equal(inference.colorize(loaded, photo), inference.colorize(generator, photo, working_size=64))


def test_clear_errors_for_missing_corrupt_and_incompatible_models(tmp_path):
    missing = tmp_path / "nope.keras"
    with pytest.raises(colorizers.ModelError, match=r"nope\.keras: model file not found"):
        colorizers.load_generator(missing)
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"not a zip at all")
    with pytest.raises(colorizers.ModelError, match=r"garbage\.keras: not a Keras model file"):
        colorizers.load_generator(garbage)
    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("config.json", "{ truncated")
    with pytest.raises(colorizers.ModelError, match=r"broken\.keras: corrupt or unreadable"):
        colorizers.load_generator(broken)
    rgb_to_rgb = tmp_path / "rgb.keras"
    _stand_in_generator(input_channels=3, output_channels=3).save(rgb_to_rgb)
    with pytest.raises(colorizers.ModelError, match=r"rgb\.keras: incompatible model"):
        colorizers.load_generator(rgb_to_rgb)


def test_cli_colorizes_a_folder_mirroring_names_and_skips_broken_files(saved_generator, sample_photos, tmp_path,
                                                                       capsys):
    photos = tmp_path / "album"
    (photos / "1950s").mkdir(parents=True)
    Image.fromarray(sample_photos["astronaut"][:120, :90]).convert("L").save(photos / "1950s" / "portrait.jpg")
    Image.fromarray(sample_photos["coffee"][:64, :80]).save(photos / "cup.png")
    Image.fromarray(sample_photos["rocket"][:50, :40]).convert("P").save(photos / "rocket.gif")
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "notes.png").write_text("this is not a picture")
    (photos / "readme.txt").write_text("ignored: not an image extension")
    out = tmp_path / "colorized"
    code = cli.main(["colorize", str(photos), "-o", str(out), "--model", str(saved_generator), "--batch-size", "2"])
    printed = capsys.readouterr()
    assert code == 1
    assert Image.open(out / "1950s" / "portrait.jpg").size == (90, 120)
    assert Image.open(out / "cup.png").size == (80, 64)
    assert Image.open(out / "rocket.png").size == (40, 50)  # GIF written back as PNG
    assert "empty.jpg: empty file" in printed.out and "notes.png: not an image" in printed.out
    assert "colorized 3 of 5 photos" in printed.out and "2 failed" in printed.out


def test_cli_single_file_succeeds_and_missing_model_is_a_clear_error(saved_generator, sample_photos, tmp_path,
                                                                     capsys):
    photo = tmp_path / "one.jpg"
    Image.fromarray(sample_photos["chelsea"]).save(photo)
    assert cli.main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--model", str(saved_generator)]) == 0
    assert Image.open(tmp_path / "out" / "one.jpg").size == Image.open(photo).size
    assert cli.main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--model", str(tmp_path / "x.keras")]) == 2
    assert "x.keras: model file not found" in capsys.readouterr().err


@pytest.mark.shared
def test_real_photos_of_every_size_and_mode_keep_their_size(shared_datasets, generator):
    from colorgan import evaluate, images

    paths = evaluate.list_photos(shared_datasets / "photos" / "imagenet-samples", max_images=40, seed=0)
    photos = [images.read_rgb(path) for path in paths]
    assert len({photo.shape[:2] for photo in photos}) > 3  # the folder mixes sizes and aspect ratios
    for photo, out in zip(photos, inference.colorize_batch(generator, paths, working_size=64), strict=True):
        assert out.shape == photo.shape
        assert np.abs(_lightness(out) - color.lightness_u8(photo)).mean() < 1.0
