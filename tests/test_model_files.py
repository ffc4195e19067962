"""Which generator colorizes, and what its file may hold: the shipped one by default, paths from the
current folder, model files checked before Keras runs anything from them, calibration carried inside."""

import json
import shutil
import zipfile

import keras
import pytest

import colorgan
from colorgan import cli, colorizers, modelfile, runs, shipped
from tests.test_shipped import small_run


def _photo_folder(tmp_path, sample_photos):
    import cv2

    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "coffee.png"), sample_photos["coffee"][::4, ::4, ::-1])
    return photos


def test_a_run_in_models_does_not_replace_the_shipped_generator(tmp_path, sample_photos, monkeypatch, capsys):
    run = tmp_path / "models" / "demo"
    small_run(run)
    monkeypatch.setattr(runs, "newest_generator", lambda *args, **kwargs: run / runs.GENERATOR_NAME)
    photos = _photo_folder(tmp_path, sample_photos)
    assert cli.main(["colorize", str(photos), "-o", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert f"generator: {shipped.SHIPPED_GENERATOR} (the generator shipped with colorgan" in printed
    assert str(run) not in printed
    assert cli.main(["colorize", str(photos), "-o", str(tmp_path / "out2"), "--model", "shipped"]) == 0
    assert str(shipped.SHIPPED_GENERATOR) in capsys.readouterr().out
    assert cli.main(["colorize", str(photos), "-o", str(tmp_path / "out3"), "--model", "newest"]) == 0
    assert f"generator: {run / runs.GENERATOR_NAME} (your newest run" in capsys.readouterr().out
    default = colorgan.load_colorizer()  # the Python API: the shipped one too (its calibrated working size)
    assert default.working_size == runs.read_calibration(shipped.SHIPPED_GENERATOR)[1] != 32


def test_a_relative_model_path_is_taken_from_the_current_folder(tmp_path, sample_photos, monkeypatch, capsys):
    small_run(tmp_path / "work" / "run", gain=1.25)
    shutil.copyfile(tmp_path / "work" / "run" / runs.GENERATOR_NAME, tmp_path / "work" / "mine.keras")
    _photo_folder(tmp_path, sample_photos)
    monkeypatch.chdir(tmp_path / "work")
    assert cli.main(["colorize", "../photos", "-o", "out", "--model", "mine.keras"]) == 0
    assert f"generator: {tmp_path / 'work' / 'mine.keras'} (given" in capsys.readouterr().out
    assert (tmp_path / "work" / "out" / "coffee.png").is_file()
    assert colorgan.load_colorizer("run/generator.keras").gain == 1.25  # the Python API alike


def _with_extra_layer(tmp_path, layer):
    """A copy of a small generator whose config.json also lists ``layer`` (what a crafted file holds)."""
    small_run(tmp_path / "run")
    crafted = tmp_path / "crafted.keras"
    with zipfile.ZipFile(tmp_path / "run" / runs.GENERATOR_NAME) as source, zipfile.ZipFile(crafted, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                config["config"]["layers"].append(layer)
                data = json.dumps(config).encode()
            target.writestr(info, data)
    return crafted


@pytest.mark.parametrize("function", ["keras.config.set_floatx", "keras.datasets.mnist.load_data"])
def test_a_lambda_layer_naming_a_keras_function_is_refused_before_keras_runs_it(tmp_path, function):
    module, _, name = function.rpartition(".")
    tensor = {"class_name": "__keras_tensor__",
              "config": {"shape": [None, None, None, 2], "dtype": "float32", "keras_history": ["ab", 0, 0]}}
    crafted = _with_extra_layer(tmp_path, {  # what Keras itself writes for Lambda(keras.config.set_floatx)
        "module": "keras.layers", "class_name": "Lambda", "registered_name": None, "name": "crafted",
        "config": {"name": "crafted", "trainable": True,
                   "function": {"module": module, "class_name": "function", "config": name, "registered_name": name},
                   "arguments": {}},
        "inbound_nodes": [{"args": [tensor], "kwargs": {}}]})
    with pytest.raises(colorizers.ModelError, match=f"{crafted}: refused: .*'Lambda'"):
        colorizers.load_generator(crafted)
    assert keras.config.floatx() == "float32"  # nothing of it ran
    with pytest.raises(modelfile.ModelFileError, match="refused"):
        modelfile.check_config(crafted)


def test_an_object_from_outside_keras_is_refused_naming_it(tmp_path):
    crafted = _with_extra_layer(tmp_path, {"module": "builtins", "class_name": "eval", "config": {},
                                           "inbound_nodes": []})
    with pytest.raises(colorizers.ModelError, match="refused: .*'eval' from 'builtins', not a Keras layer"):
        colorizers.load_generator(crafted)


def test_a_copied_generator_colorizes_with_its_runs_calibration(tmp_path):
    small_run(tmp_path / "run", gain=1.4)
    runs.write_gain(tmp_path / "run", 1.4, working_size=48)
    (tmp_path / "elsewhere").mkdir()
    copy = shutil.copy(tmp_path / "run" / runs.GENERATOR_NAME, tmp_path / "elsewhere" / "g.keras")
    loaded = colorizers.load(copy)
    assert (loaded.gain, loaded.working_size) == (1.4, 48)
    plain = keras.models.load_model(copy, safe_mode=True)  # still a plain Keras file
    assert plain.output_shape == (None, None, None, 2)
    runs.write_gain(tmp_path / "run", 0.75, working_size=64)  # calibrated again: the file follows
    assert runs.read_calibration(tmp_path / "run" / runs.GENERATOR_NAME) == (0.75, 64)
