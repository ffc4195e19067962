"""Engines: ONNX Runtime colorizes like TensorFlow (to 1 RGB level), is chosen when installed, and starts without it."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import layers
from PIL import Image
from skimage import data

from colorgan import colorizers, encoder_unet, engines, inference, models, onnx_export, shipped

AB_TOLERANCE = 1e-4  # float32 from two runtimes: summation order only


def _keras_ab(path, inputs):
    return colorizers.load_generator(path, engine="tensorflow")(inputs, training=False).numpy()


def _onnx_ab(path, inputs):
    return colorizers.load_generator(path, engine="onnx")(inputs)


def test_auto_is_onnx_when_installed_and_tensorflow_when_only_it_is(monkeypatch):
    assert engines.choose("auto") == "onnx"
    loaded = colorizers.load_generator(shipped.SHIPPED_GENERATOR, engine="auto")
    assert isinstance(loaded, engines.OnnxGenerator) and loaded.engine == "onnx"

    real_find_spec = engines.importlib.util.find_spec
    monkeypatch.setattr(engines.importlib.util, "find_spec",
                        lambda name, *args: None if name == "onnxruntime" else real_find_spec(name, *args))
    assert engines.choose("auto") == "tensorflow"
    assert isinstance(colorizers.load_generator(shipped.SHIPPED_GENERATOR, engine="auto"), keras.Model)
    with pytest.raises(engines.EngineError, match="onnx engine is not installed"):
        engines.choose("onnx")
    with pytest.raises(ValueError, match="unknown engine 'torch'"):
        engines.choose("torch")


def test_the_shipped_generator_gives_the_same_picture_under_onnx_runtime(sample_photos):
    tensorflow_colorizer = colorizers.load(shipped.SHIPPED_GENERATOR, engine="tensorflow")
    onnx_colorizer = colorizers.load(shipped.SHIPPED_GENERATOR, engine="onnx")
    assert (onnx_colorizer.working_size, onnx_colorizer.gain) == (tensorflow_colorizer.working_size,
                                                                   tensorflow_colorizer.gain)
    assert (onnx_colorizer.engine, tensorflow_colorizer.engine) == ("onnx", "tensorflow")
    tensorflow, onnx = tensorflow_colorizer.generator, onnx_colorizer.generator
    assert onnx.size_multiple == inference.size_multiple(tensorflow) in (32, 64)  # the encoder's 32, the U-Net's 64
    assert onnx.input_shape == tensorflow.input_shape and onnx.output_shape == tensorflow.output_shape

    inputs = np.random.default_rng(0).uniform(-1, 1, (3, 128, 192, 1)).astype(np.float32)
    expected = tensorflow(inputs, training=False).numpy()
    assert np.abs(onnx(inputs) - expected).max() < AB_TOLERANCE and np.abs(expected).max() > 0.05

    photos = [sample_photos["astronaut"], sample_photos["coffee"], data.camera()]
    for expected_rgb, onnx_rgb in zip(inference.colorize_batch(tensorflow_colorizer, photos),
                                      inference.colorize_batch(onnx_colorizer, photos), strict=True):
        assert onnx_rgb.shape == expected_rgb.shape and onnx_rgb.dtype == np.uint8
        assert np.abs(onnx_rgb.astype(int) - expected_rgb.astype(int)).max() <= 1


def _efficientnet_style(path):
    """An encoder-decoder of the layers an EfficientNet-Lite encoder uses, with BatchNorm statistics that matter."""
    inputs = keras.Input(shape=(None, None, 1), name="L")
    x = layers.ZeroPadding2D(((0, 1), (0, 1)))(inputs)
    x = layers.Conv2D(8, 3, strides=2, padding="valid", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(max_value=6.0)(x)
    shortcut = x
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(center=False)(x)
    x = layers.Activation("relu6")(x)
    x = layers.Conv2D(8, 1, activation="swish")(x)
    x = layers.Add()([x, shortcut])
    x = layers.DepthwiseConv2D(5, strides=2, padding="same", depth_multiplier=2)(x)
    x = layers.Conv2DTranspose(8, 3, strides=2, padding="same")(x)
    x = layers.Concatenate()([x, shortcut])
    x = layers.Dropout(0.3)(x)
    x = layers.Conv2DTranspose(4, 4, strides=2, padding="same", activation="relu")(x)
    x = layers.Rescaling(0.5, offset=0.1)(x)
    outputs = layers.Conv2D(2, 1, activation="tanh")(x)
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) + (1.5 if "variance" in w.path else 0)
                       for w in model.weights])
    model.save(path)
    return path


@pytest.mark.parametrize("side", [64, 96])
def test_efficientnet_style_layers_convert_exactly(tmp_path, side):
    path = _efficientnet_style(tmp_path / "generator.keras")
    inputs = np.random.default_rng(2).uniform(-1, 1, (2, side, side, 1)).astype(np.float32)
    expected = _keras_ab(path, inputs)
    assert np.abs(_onnx_ab(path, inputs) - expected).max() < AB_TOLERANCE and expected.std() > 0.01


def test_the_efficientnet_unet_generator_converts_exactly(tmp_path):
    generator = encoder_unet.build_generator(pretrained=False)
    output_conv = generator.get_layer("output_conv")  # zero-initialized: give it weights, or ab is 0 everywhere
    output_conv.kernel.assign(np.random.default_rng(5).normal(0, 0.05, output_conv.kernel.shape).astype(np.float32))
    generator.save(tmp_path / "generator.keras")
    inputs = np.random.default_rng(6).uniform(-1, 1, (1, 64, 96, 1)).astype(np.float32)
    expected = _keras_ab(tmp_path / "generator.keras", inputs)
    onnx = colorizers.load_generator(tmp_path / "generator.keras", engine="onnx")
    assert onnx.size_multiple == inference.size_multiple(generator) == 32
    assert np.abs(onnx(inputs) - expected).max() < AB_TOLERANCE and expected.std() > 1e-3


def test_a_classification_head_converts_exactly(tmp_path):
    """Rescaling, Softmax, the bin-centre 1x1 convolution and bilinear UpSampling2D."""
    centres = np.random.default_rng(3).uniform(-0.8, 0.8, (12, 2))
    generator = models.build_generator(32, base_filters=4, bin_centres=centres, temperature=0.4)
    generator.save(tmp_path / "generator.keras")
    inputs = np.random.default_rng(4).uniform(-1, 1, (2, 64, 32, 1)).astype(np.float32)
    expected = _keras_ab(tmp_path / "generator.keras", inputs)
    assert np.abs(_onnx_ab(tmp_path / "generator.keras", inputs) - expected).max() < AB_TOLERANCE


def test_a_layer_without_conversion_is_named_and_auto_falls_back_to_tensorflow(tmp_path, capsys):
    inputs = keras.Input(shape=(None, None, 1))
    outputs = layers.Conv2D(2, 3, padding="same")(layers.Cropping2D(1)(inputs))
    keras.Model(inputs, outputs).save(tmp_path / "odd.keras")
    with pytest.raises(engines.EngineError, match=r"odd\.keras: layer cropping2d.* \(Cropping2D\) has no ONNX"):
        colorizers.load_generator(tmp_path / "odd.keras", engine="onnx")
    fallback = colorizers.load_generator(tmp_path / "odd.keras", engine="auto")
    assert isinstance(fallback, keras.Model)
    assert "colorizing with TensorFlow" in capsys.readouterr().err


def test_the_conversion_is_cached_by_the_files_contents(tmp_path):
    path = _efficientnet_style(tmp_path / "generator.keras")
    first = engines.onnx_bytes(path, cache=tmp_path / "cache")
    (cached,) = (tmp_path / "cache").iterdir()
    assert cached.read_bytes() == first
    cached.write_bytes(onnx_export.to_onnx(shipped.SHIPPED_GENERATOR).SerializeToString())  # the key is trusted
    assert engines.onnx_bytes(path, cache=tmp_path / "cache") == cached.read_bytes() != first
    _efficientnet_style(path)  # new weights: a new key, converted anew
    assert engines.onnx_bytes(path, cache=tmp_path / "cache") not in (first, cached.read_bytes())
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_the_colorize_command_runs_without_importing_tensorflow_or_keras(tmp_path):
    Image.fromarray(data.coffee()).save(tmp_path / "cup.jpg")
    script = textwrap.dedent("""
        import json, sys
        from colorgan import cli
        code = cli.main(sys.argv[1:])
        print(json.dumps({"code": code, "tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules}))
    """)
    for engine, imports in (("auto", False), ("tensorflow", True)):
        out = tmp_path / engine
        completed = subprocess.run([sys.executable, "-c", script, "colorize", str(tmp_path / "cup.jpg"), "-o", str(out),
                                    "--model", str(shipped.SHIPPED_GENERATOR), "--engine", engine],
                                   env=os.environ, capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, completed.stderr[-3000:]
        report = json.loads(completed.stdout.strip().splitlines()[-1])
        assert report == {"code": 0, "tensorflow": imports, "keras": imports}
        assert f"{'onnx' if engine == 'auto' else engine} engine" in completed.stdout
    pictures = [np.asarray(Image.open(tmp_path / engine / "cup.jpg")).astype(int) for engine in ("auto", "tensorflow")]
    assert pictures[0].shape == data.coffee().shape and np.abs(pictures[0] - pictures[1]).mean() < 0.5


def test_a_damaged_file_is_reported_as_such_under_every_engine(tmp_path):
    import zipfile

    with zipfile.ZipFile(_efficientnet_style(tmp_path / "whole.keras")) as whole, \
            zipfile.ZipFile(tmp_path / "damaged.keras", "w") as damaged:
        damaged.writestr("config.json", whole.read("config.json"))  # a sound graph, its weights lost
        damaged.writestr("metadata.json", whole.read("metadata.json"))
        damaged.writestr("model.weights.h5", b"not HDF5")
    with pytest.raises(colorizers.ModelError, match=r"damaged\.keras: corrupt or unreadable"):
        colorizers.load_generator(tmp_path / "damaged.keras", engine="auto")  # ONNX fails, then Keras says why
    with pytest.raises(engines.EngineError, match=r"damaged\.keras: not converted to ONNX"):
        colorizers.load_generator(tmp_path / "damaged.keras", engine="onnx")
