"""The shipped generator: compact float16 storage that loads as float32, the default order, URLs with checksums."""

import hashlib
import json

import keras
import numpy as np
import pytest

from colorgan import colorizers, models, runs, shipped


def small_run(folder, gain=1.3):
    folder.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    generator = models.build_generator(32, 8)
    generator.get_layer("output_conv").bias.assign([0.2, -0.1])
    generator.save(folder / runs.GENERATOR_NAME)
    runs.write_config(folder, {"image_size": 32, "base_filters": 8, "objective": "l1"})
    runs.write_gain(folder, gain)
    return generator


def test_the_compact_export_is_half_the_size_and_loads_as_float32_with_its_strength(tmp_path):
    generator = small_run(tmp_path / "run")
    path = shipped.export_compact(tmp_path / "run" / runs.GENERATOR_NAME, tmp_path / "shipped")
    assert path.stat().st_size < 0.6 * (tmp_path / "run" / runs.GENERATOR_NAME).stat().st_size
    plain = keras.models.load_model(path, safe_mode=True)  # any notebook: no custom objects
    assert shipped.is_compact(plain)
    colorizer = colorizers.load(path)
    loaded = colorizer.generator
    assert not shipped.is_compact(loaded) and colorizer.gain == 1.3 and colorizer.working_size == 32
    assert {layer.compute_dtype for layer in loaded.layers if layer.weights} == {"float32"}
    x = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64, 1)).astype("float32")
    difference = np.abs(loaded(x).numpy() - generator(x).numpy()).max()
    assert difference < 5e-3  # float16 rounding of the weights only


def test_the_default_generator_is_the_shipped_one_and_a_run_only_when_named(tmp_path):
    shipped_one = (shipped.SHIPPED_GENERATOR, "the generator shipped with colorgan")
    assert shipped.resolve_model(None, models_dir=tmp_path) == shipped_one
    with pytest.raises(ValueError, match="no run under"):
        shipped.resolve_model("newest", models_dir=tmp_path)
    small_run(tmp_path / "mine")
    assert shipped.resolve_model(None, models_dir=tmp_path) == shipped_one  # a run is never picked up on its own
    assert shipped.resolve_model("shipped", models_dir=tmp_path) == shipped_one
    path, where = shipped.resolve_model("newest", models_dir=tmp_path)
    assert path == tmp_path / "mine" / runs.GENERATOR_NAME and where == "your newest run"
    assert shipped.resolve_model(tmp_path / "mine", models_dir=tmp_path) == (path, "given")  # a run folder
    assert shipped.resolve_model("x/g.keras", models_dir=tmp_path) == (shipped.Path.cwd() / "x/g.keras", "given")


def test_a_model_url_is_downloaded_once_into_the_user_cache_checked_and_keeps_its_calibration(tmp_path,
                                                                                              user_cache):
    small_run(tmp_path / "run", gain=1.3)
    runs.write_gain(tmp_path / "run", 1.3, working_size=48)
    source = tmp_path / "run" / runs.GENERATOR_NAME
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    path, where = shipped.resolve_model(f"file://{source}#sha256={digest}")
    assert path.parent == user_cache / "models" and path.read_bytes() == source.read_bytes()
    assert where == f"downloaded from file://{source}"
    loaded = colorizers.load(path)  # no color_gain.json in the cache: the file carries it
    assert (loaded.gain, loaded.working_size) == (1.3, 48)
    assert shipped.resolve_model(f"file://{source}#sha256={digest}") == (path, f"cached copy of file://{source}")
    with pytest.raises(ValueError, match="checksum mismatch"):
        shipped.resolve_model(f"file://{source}#sha256={'0' * 64}")
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # nothing half-written left
    with pytest.raises(ValueError, match="needs its checksum"):
        shipped.resolve_model(f"file://{source}")


def test_the_shipped_file_loads_in_plain_keras_and_colorizes(sample_photos):
    assert shipped.SHIPPED_GENERATOR.is_file(), "the package must carry its generator"
    assert shipped.SHIPPED_GENERATOR.stat().st_size < 25 * 2**20  # issue 17: at most ~25 MB
    plain = keras.models.load_model(shipped.SHIPPED_GENERATOR, safe_mode=True)
    assert plain.output_shape == (None, None, None, 2)
    colorizer = colorizers.load(shipped.SHIPPED_GENERATOR)
    calibrated = runs.read_calibration(shipped.SHIPPED_GENERATOR)[1]
    table = json.loads((shipped.PRETRAINED_DIR / runs.GAIN_NAME).read_text())["table"]
    sizes = {row["working_size"] for row in table}  # the sizes its calibration tried
    assert colorizer.working_size == calibrated in sizes and len(sizes) > 1 and colorizer.gain > 0
    chosen = [row for row in table if (row["gain"], row["working_size"]) == (colorizer.gain, calibrated)]
    assert chosen and chosen[0]["psnr"] > chosen[0]["gray_psnr"]  # it beat gray on the validation photos
    ab = colorizer.generator(np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 1)).astype("float32")).numpy()
    assert ab.dtype == np.float32 and np.abs(ab).max() <= 1.0
    card = (shipped.PRETRAINED_DIR / "MODEL_CARD.md").read_text()
    assert "Held-out figures" in card and "Licence" in card
    # The card states the calibration that ships beside it.
    assert f"gain **{colorizer.gain:g}** at working size **{calibrated}**" in card


def test_colorize_on_a_fresh_clone_uses_the_shipped_generator_and_names_it(tmp_path, sample_photos, monkeypatch,
                                                                          capsys):
    import cv2

    from colorgan import cli

    monkeypatch.setattr(runs, "newest_generator", lambda *args, **kwargs: None)  # no run of one's own yet
    photos = tmp_path / "photos"
    photos.mkdir()
    name, photo = sorted(sample_photos.items())[0]
    cv2.imwrite(str(photos / f"{name}.png"), photo[..., ::-1])
    assert cli.main(["colorize", str(photos), "-o", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "the generator shipped with colorgan" in printed and str(shipped.SHIPPED_GENERATOR) in printed
    colored = cv2.imread(str(tmp_path / "out" / f"{name}.png"))
    assert colored.shape == photo.shape  # full resolution
