"""v0.3's generator: a U-Net and an EfficientNet-encoder U-Net averaged in one flat Keras network
(``colorgan.ensemble``), rebuilt by ``encoder: both``, written and calibrated by ``colorgan average``."""

import json

import keras
import numpy as np
import pytest

from colorgan import cli, colorizers, encoder_unet, ensemble, inference, models, runs, training
from colorgan.config import resolve_config
from colorgan.data import prepare


def _members(seed=0):
    """A small U-Net (size multiple 64) and the encoder U-Net (32) from random weights, each painting visibly."""
    keras.utils.set_random_seed(seed)
    unet = models.build_generator(64, 4, dropout_rate=0.0)
    encoder = encoder_unet.build_generator(pretrained=False)
    kernel = encoder.get_layer("output_conv").kernel  # zero-initialized: ab would be 0 everywhere
    kernel.assign(np.random.default_rng(seed).normal(0, 0.05, kernel.shape).astype(np.float32))
    return unet, encoder


@pytest.fixture(scope="module")
def members():
    return _members()


@pytest.fixture(scope="module")
def lightness():
    return np.random.default_rng(1).uniform(-1, 1, (2, 64, 128, 1)).astype(np.float32)


def test_the_merged_network_is_flat_and_its_ab_is_the_members_average(members, lightness, tmp_path):
    merged = ensemble.merge(members)
    assert not any(isinstance(layer, keras.Model) for layer in merged.layers)  # one graph, no nested models
    assert len(merged.inputs) == 1 and merged.inputs[0].shape[-1] == 1 and merged.output.shape[-1] == 2
    expected = ensemble.average_ab(members, lightness)
    each = [keras.ops.convert_to_numpy(member(lightness)) for member in members]
    assert np.abs(each[0] - each[1]).mean() > 1e-3  # the members disagree: the average is a real test
    np.testing.assert_allclose(keras.ops.convert_to_numpy(merged(lightness)), expected, atol=1e-6)
    assert merged.count_params() == sum(member.count_params() for member in members)
    merged.save(tmp_path / runs.GENERATOR_NAME)
    loaded = keras.models.load_model(tmp_path / runs.GENERATOR_NAME)  # plain Keras, no custom objects
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(lightness)), expected, atol=1e-6)
    assert models.size_multiple(loaded) == 64  # the U-Net's deeper path, not the product of every stride


def test_merge_needs_two_generators_and_distinct_prefixes(members):
    with pytest.raises(ValueError, match="two or more"):
        ensemble.merge(members[:1])
    with pytest.raises(ValueError, match="distinct prefix"):
        ensemble.merge(members, prefixes=("a_", "a_"))


def test_encoder_both_rebuilds_the_average_so_a_saved_one_can_be_fine_tuned(members, lightness):
    merged = ensemble.merge(members)
    config = resolve_config(encoder="both", image_size=64, base_filters=4, dropout_rate=0.0, pretrained=False)
    rebuilt = training.build_generator(config)
    rebuilt.set_weights(merged.get_weights())  # what init_from does (training.start_from)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(rebuilt(lightness)),
                               keras.ops.convert_to_numpy(merged(lightness)), atol=1e-6)
    # the frozen phase finds every EfficientNet layer of the encoder member by name
    assert len(encoder_unet.encoder_layers(rebuilt)) == len(encoder_unet.encoder_layers(members[1])) > 100
    with pytest.raises(ValueError, match="classification"):
        resolve_config(encoder="both", objective="classification", image_size=64)
    with pytest.raises(ValueError, match="power of two"):
        resolve_config(encoder="both", image_size=96)  # the U-Net's depth needs a power of two


def test_the_average_converts_to_onnx_exactly(members, lightness, tmp_path):
    path = tmp_path / runs.GENERATOR_NAME
    ensemble.merge(members).save(path)
    expected = keras.ops.convert_to_numpy(colorizers.load_generator(path)(lightness))
    onnx = colorizers.load_generator(path, engine="onnx")
    assert onnx.size_multiple == 64
    assert np.abs(onnx(lightness) - expected).max() < 1e-4


def _run(folder, generator, config):
    folder.mkdir(parents=True)
    generator.save(folder / runs.GENERATOR_NAME)
    runs.write_config(folder, config)
    return folder


@pytest.fixture(scope="module")
def member_runs(members, tmp_path_factory):
    root = tmp_path_factory.mktemp("average")
    prepared = root / "prepared"
    prepare([], prepared, size=64, val_fraction=0.5, workers=1, progress=False)  # scikit-image's samples
    shared = {"prepared_dir": str(prepared), "extra_val_dirs": [], "objective": "l1"}
    unet = _run(root / "unet", members[0], {**shared, "image_size": 64, "base_filters": 4, "encoder": "none",
                                            "dropout_rate": 0.0, "working_size_factors": [1]})
    encoder = _run(root / "encoder", members[1], {**shared, "image_size": 64, "encoder": "efficientnet_lite0",
                                                  "working_size_factors": [1, 2]})
    return root, unet, encoder


def test_colorgan_average_writes_a_calibrated_run_that_colorizes(member_runs, sample_photos, lightness):
    root, unet, encoder = member_runs
    out = root / "both"
    assert cli.main(["average", str(encoder), str(unet), "--out", str(out), "--margin-ciede", "0.0",
                     "--margin-db", "0.0"]) == 0  # members in either order: the U-Net's layers come first
    config = json.loads((out / runs.CONFIG_NAME).read_text())
    assert config["encoder"] == "both" and config["image_size"] == 64 and config["base_filters"] == 4
    assert config["members"] == [str(unet / runs.GENERATOR_NAME), str(encoder / runs.GENERATOR_NAME)]
    assert config["working_size_factors"] == [1.0, 2.0]  # every size a member was calibrated at: 64 and 128
    table = json.loads((out / runs.GAIN_NAME).read_text())["table"]
    assert sorted({row["working_size"] for row in table}) == [64, 128]
    colorizer = colorizers.load(out / runs.GENERATOR_NAME)
    assert colorizer.gain == runs.read_calibration(out / runs.GENERATOR_NAME)[0]
    members = [colorizers.load_generator(unet / runs.GENERATOR_NAME),
               colorizers.load_generator(encoder / runs.GENERATOR_NAME)]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(colorizer.generator(lightness)),
                               ensemble.average_ab(members, lightness), atol=1e-6)
    photo = sample_photos["astronaut"][:100, :150]
    colored = inference.colorize(colorizer, photo)
    assert colored.shape == photo.shape and colored.dtype == np.uint8


def test_colorgan_average_refuses_what_it_cannot_average_and_never_overwrites(member_runs, members, capsys):
    root, unet, encoder = member_runs
    taken = root / "taken"
    taken.mkdir()
    (taken / runs.CONFIG_NAME).write_text("{\"mine\": 1}\n")
    assert cli.main(["average", str(unet), str(encoder), "--out", str(taken)]) == 2
    assert f"{taken} already holds a run" in capsys.readouterr().err
    assert (taken / runs.CONFIG_NAME).read_text() == "{\"mine\": 1}\n" and not (taken / runs.GENERATOR_NAME).exists()

    assert cli.main(["average", str(unet), str(unet), "--out", str(root / "two_unets")]) == 2
    assert "one U-Net (encoder none) and one EfficientNet-encoder run" in capsys.readouterr().err

    elsewhere = _run(root / "elsewhere", members[1], {"prepared_dir": str(root / "other"), "image_size": 64,
                                                      "encoder": "efficientnet_lite0", "objective": "l1"})
    assert cli.main(["average", str(unet), str(elsewhere), "--out", str(root / "mixed")]) == 2
    error = capsys.readouterr().err
    assert "validated on different photos" in error and str(root / "other") in error and "elsewhere" in error
    assert not (root / "mixed").exists() and not (root / "two_unets").exists()

    assert cli.main(["average", str(unet), str(root / "missing"), "--out", str(root / "x")]) == 2
    assert f"{root / 'missing'}: no generator" in capsys.readouterr().err


def test_fine_tuning_the_average_keeps_its_encoder_frozen_first_and_trains_the_rest():
    from colorgan import training

    model = training.build_pix2pix({"encoder": "both", "image_size": 64, "base_filters": 4, "dropout_rate": 0.0,
                                    "pretrained": False, "frozen_epochs": 1, "warmup_epochs": 2,
                                    "precision": "float32"})
    generator = model.generator
    encoder_names = {layer.name for layer in encoder_unet.encoder_layers(generator)}
    before = {w.path: np.array(w.numpy()) for w in generator.weights}
    rng = np.random.default_rng(0)
    batch = (rng.uniform(-1, 1, (8, 64, 64, 1)).astype("float32"), rng.uniform(-0.5, 0.5, (8, 64, 64, 2)).astype("float32"))
    model.set_epoch(0)
    model.fit(*batch, batch_size=4, epochs=1, verbose=0)  # two steps
    after = {w.path: np.array(w.numpy()) for w in generator.weights}
    frozen = [path for path in before if path.split("/")[0] in encoder_names]
    others = [path for path in before if path.split("/")[0] not in encoder_names]
    assert len(frozen) > 100 and others
    for path in frozen:
        np.testing.assert_array_equal(after[path], before[path], err_msg=path)
    assert sum(not np.array_equal(after[path], before[path]) for path in others) > len(others) // 2
