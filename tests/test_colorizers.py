"""The Colorizer and its one loader: the settings a file records reach the colors through every way in."""

import json

import cv2
import keras
import numpy as np
import pytest

from colorgan import app, batch, cli, colorizers, evaluate, images, inference, modelfile, models, runs

GAIN, WORKING_SIZE = 2.0, 48  # what the run calibrated: neither is a default (1, the run's image_size 64)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run folder whose generator.keras records its calibration (gain 2 at working size 48)."""
    folder = tmp_path_factory.mktemp("run")
    keras.utils.set_random_seed(0)
    generator = models.build_generator(32, 8)
    generator.get_layer("output_conv").bias.assign([0.2, -0.1])  # visible colors from a fresh network
    generator.save(folder / runs.GENERATOR_NAME)
    runs.write_config(folder, {"image_size": 64, "base_filters": 8, "objective": "l1"})
    modelfile.write_calibration(folder / runs.GENERATOR_NAME, gain=GAIN, working_size=WORKING_SIZE)
    return folder


@pytest.fixture(scope="module")
def photo(tmp_path_factory, sample_photos):
    """A gray photo on disk (PNG, so what is written back is exactly what was colorized) and its pixels."""
    path = tmp_path_factory.mktemp("photos") / "coffee.png"
    cv2.imwrite(str(path), cv2.cvtColor(sample_photos["coffee"][::4, ::4], cv2.COLOR_RGB2GRAY))
    return path, images.read_rgb(path)


def test_the_loader_returns_the_gain_and_working_size_recorded_in_the_file(run):
    colorizer = colorizers.load(run / runs.GENERATOR_NAME)
    assert (colorizer.gain, colorizer.working_size) == (GAIN, WORKING_SIZE)
    assert colorizer.path == run / runs.GENERATOR_NAME and colorizer.source == "given"
    assert colorizer.engine == "tensorflow" and isinstance(colorizer.generator, keras.Model)
    from_folder = colorizers.load(run)  # a run folder names its generator.keras
    assert (from_folder.path, from_folder.gain, from_folder.working_size) == (colorizer.path, GAIN, WORKING_SIZE)


def test_a_plain_keras_model_without_calibration_gets_the_defaults(tmp_path):
    models.build_generator(32, 4).save(tmp_path / "alone.keras")  # no run beside it, nothing inside
    colorizer = colorizers.load(tmp_path / "alone.keras")
    assert (colorizer.gain, colorizer.working_size) == (1.0, colorizers.DEFAULT_WORKING_SIZE) == (1.0, 256)
    runs.write_config(tmp_path, {"image_size": 64})  # a run never calibrated: its training size
    trained = colorizers.load(tmp_path / "alone.keras")
    assert (trained.gain, trained.working_size) == (1.0, 64)
    bare = colorizers.Colorizer.of(colorizer.generator)  # a network built or loaded alone
    assert (bare.gain, bare.working_size, bare.path) == (1.0, 256, None)
    assert colorizers.Colorizer.of(colorizer) is colorizer


def test_a_gain_file_of_either_name_is_read_and_the_new_name_wins(tmp_path):
    models.build_generator(32, 4).save(tmp_path / runs.GENERATOR_NAME)
    (tmp_path / runs.OLD_GAIN_NAME).write_text(json.dumps({"gain": 1.5, "working_size": 96}))  # before the rename
    assert runs.gain_file(tmp_path) == tmp_path / "color_strength.json"
    loaded = colorizers.load(tmp_path / runs.GENERATOR_NAME)
    assert (loaded.gain, loaded.working_size) == (1.5, 96)
    runs.write_gain(tmp_path, 0.75, working_size=64)  # calibrated again: color_gain.json, and inside the file
    assert runs.gain_file(tmp_path) == tmp_path / "color_gain.json"
    assert json.loads((tmp_path / runs.GAIN_NAME).read_text())["gain"] == 0.75
    assert modelfile.read_calibration(tmp_path / runs.GENERATOR_NAME)["gain"] == 0.75
    (tmp_path / runs.GENERATOR_NAME).unlink()
    models.build_generator(32, 4).save(tmp_path / runs.GENERATOR_NAME)  # a file that carries nothing
    loaded = colorizers.load(tmp_path / runs.GENERATOR_NAME)
    assert (loaded.gain, loaded.working_size) == (0.75, 64)


def test_an_unreadable_gain_file_is_named(tmp_path):
    models.build_generator(32, 4).save(tmp_path / runs.GENERATOR_NAME)
    (tmp_path / runs.GAIN_NAME).write_text("{ not json")
    with pytest.raises(colorizers.ModelError, match=r"color_gain\.json: unreadable calibrated gain"):
        colorizers.load(tmp_path / runs.GENERATOR_NAME)


def test_strength_multiplies_the_calibrated_gain_and_nothing_else_does():
    colorizer = colorizers.Colorizer(generator=None, gain=1.6)
    assert colorizer.gain_at() == 1.6 and colorizer.gain_at(0.5) == 0.8 and colorizer.gain_at(0) == 0.0
    with pytest.raises(ValueError, match="color_strength must be a number >= 0"):
        colorizer.gain_at(float("nan"))


@pytest.fixture(scope="module")
def expected(run, photo):
    """The photo colorized at the run's calibration: what every way in must write."""
    colorizer = colorizers.load(run)
    calibrated = inference.colorize(colorizer, photo[1])
    uncalibrated = inference.colorize(colorizer.generator, photo[1])  # gain 1 at 256: visibly other colors
    assert np.abs(calibrated.astype(int) - uncalibrated).mean() > 1
    return calibrated


def test_the_command_line_and_batch_colorize_with_the_runs_calibration(run, photo, expected, tmp_path, capsys):
    path, _ = photo

    assert cli.main(["colorize", str(path), "-o", str(tmp_path / "cli"), "--model", str(run),
                     "--engine", "tensorflow"]) == 0
    assert f"color gain {GAIN:g} x strength 1" in capsys.readouterr().out
    np.testing.assert_array_equal(images.read_rgb(tmp_path / "cli" / path.name), expected)

    batch.colorize_files(colorizers.load(run), [path], tmp_path / "batch")
    np.testing.assert_array_equal(images.read_rgb(tmp_path / "batch" / path.name), expected)


def test_the_app_colorizes_with_the_runs_calibration(run, photo, expected, tmp_path, monkeypatch):
    path, _ = photo
    pytest.importorskip("gradio", reason="the web app needs Gradio (pip install 'colorgan[app]')")
    built, build = [], app.build
    monkeypatch.setattr(app, "build", lambda loaded, label: built.append(loaded) or build(loaded, label))
    page = app.launch(str(run), port=None, prevent_thread_lock=True, quiet=True)
    page.close()
    (served,) = built
    assert (served.gain, served.working_size, served.path) == (GAIN, WORKING_SIZE, run / runs.GENERATOR_NAME)
    _, pairs, _ = app.colorize_uploads(served, [path], out_dir=tmp_path / "app")
    np.testing.assert_array_equal(images.read_rgb(pairs[0][1]), expected)


def test_the_evaluate_command_scores_at_the_runs_calibration(run, photo, tmp_path, capsys):
    path, _ = photo
    out = tmp_path / "metrics.json"
    assert cli.main(["evaluate", "--model", str(run), "--data", str(path.parent), "--out", str(out)]) == 0
    assert f"color gain {GAIN:g})" in capsys.readouterr().out
    expected = evaluate.evaluate(colorizers.load(run), [path])
    assert json.loads(out.read_text())["model"] == pytest.approx(expected["model"])
