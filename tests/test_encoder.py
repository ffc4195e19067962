"""The ImageNet-pretrained encoder: weights read without running code, a classifier that knows a cat,
a U-Net that exports as plain Keras, and a frozen phase that leaves the encoder as ImageNet made it."""

import os
import pickle
import struct
import zipfile

import keras
import numpy as np
import pytest
from skimage import data, transform

from colorgan import callbacks, encoder, encoder_unet, gan, models, torch_weights, training


class _RunsCode:
    """Unpickling this calls os.system: what a malicious checkpoint looks like."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/colorgan_pwned",))


def _legacy_file(path, payload):
    """A file in torch.save's legacy layout: magic, protocol, sys info, then ``payload`` as the state pickle."""
    with open(path, "wb") as file:
        for header in (torch_weights.LEGACY_MAGIC, torch_weights.LEGACY_PROTOCOL,
                       {"protocol_version": 1001, "little_endian": True}):
            pickle.dump(header, file, protocol=2)
        pickle.dump(payload, file, protocol=2)
        pickle.dump([], file, protocol=2)
    return path


def test_a_checkpoint_that_would_run_code_is_refused_unrun(tmp_path):
    marker = tmp_path / "ran"
    payload = {"weight": _RunsCode()}
    payload_bytes = pickle.dumps(payload, protocol=2).replace(b"/tmp/colorgan_pwned", str(marker).encode())
    path = tmp_path / "evil.pth"
    with open(path, "wb") as file:
        for header in (torch_weights.LEGACY_MAGIC, torch_weights.LEGACY_PROTOCOL, {"little_endian": True}):
            pickle.dump(header, file, protocol=2)
        file.write(payload_bytes)
    with pytest.raises(torch_weights.UnsafeCheckpoint, match=r"evil\.pth.*posix\.system|evil\.pth.*os\.system"):
        torch_weights.load_state_dict(path)
    assert not marker.exists()


def test_a_zip_checkpoint_that_would_run_code_is_refused(tmp_path):
    path = tmp_path / "evil_zip.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"w": _RunsCode()}, protocol=2))
    with pytest.raises(torch_weights.UnsafeCheckpoint, match="evil_zip.pth"):
        torch_weights.load_state_dict(path)


def test_a_legacy_state_dict_is_read_exactly(tmp_path):
    """Built by hand in torch's legacy layout (no torch needed): a strided view and a plain tensor."""
    storage_bytes = np.arange(6, dtype="<f4").tobytes()
    body = (
        b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01("
        b"X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\nq\x02("
        b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x06Ntq\x03Q"
        b"K\x00K\x02K\x03\x86K\x03K\x01\x86\x89h\x00)Rtq\x04R"  # w: (2, 3), strides (3, 1)
        b"X\x01\x00\x00\x00th\x02((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000"
        b"X\x03\x00\x00\x00cpuK\x06NtQK\x00K\x03K\x02\x86K\x01K\x03\x86\x89h\x00)RtRu."  # t: the transpose
    )
    path = tmp_path / "tiny.pth"
    with open(path, "wb") as file:
        for header in (torch_weights.LEGACY_MAGIC, torch_weights.LEGACY_PROTOCOL, {"little_endian": True}):
            pickle.dump(header, file, protocol=2)
        file.write(body)
        pickle.dump(["0"], file, protocol=2)
        file.write(struct.pack("<q", 6) + storage_bytes)
    state = torch_weights.load_state_dict(path)
    np.testing.assert_array_equal(state["w"], np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(state["t"], np.arange(6, dtype=np.float32).reshape(2, 3).T)


def test_a_truncated_checkpoint_names_the_file(tmp_path):
    path = tmp_path / "cut.pth"
    _legacy_file(path, {})
    path.write_bytes(path.read_bytes()[:10])
    with pytest.raises(ValueError, match=r"cut\.pth: not a readable PyTorch checkpoint"):
        torch_weights.load_state_dict(path)


@pytest.fixture(scope="module")
def classifier():
    model = encoder.build_classifier()
    assert encoder.load_imagenet_weights(model) == 99  # stem, 16 blocks' convs and BatchNorms, head, fc
    return model


def _top_classes(model, rgb):
    x = transform.resize(rgb / 255.0, (224, 224), anti_aliasing=True) * 2 - 1
    probabilities = model.predict(x[None].astype("float32"), verbose=0)[0]
    return np.argsort(probabilities)[::-1], probabilities


def test_the_converted_encoder_classifies_chelsea_as_a_cat(classifier):
    order, probabilities = _top_classes(classifier, data.chelsea())
    assert 281 <= order[0] <= 285, order[:5]  # ImageNet's domestic cats
    assert probabilities[281:286].sum() > 0.8
    order, _ = _top_classes(classifier, data.coffee())
    assert order[0] == 967  # espresso


def test_the_cached_conversion_equals_a_fresh_one(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fresh = encoder.imagenet_weights()
    assert list(tmp_path.glob("colorgan/efficientnet_lite0_*.npz"))
    cached = encoder.imagenet_weights()
    assert fresh.keys() == cached.keys()
    for name in fresh:
        for a, b in zip(fresh[name], cached[name], strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def generator():
    return encoder_unet.build_generator(pretrained=True)


def test_the_encoder_unet_maps_L_to_ab_at_full_size(generator):
    assert generator.output_shape == (None, None, None, 2)
    assert models.size_multiple(generator) == 32
    ab = generator.predict(np.zeros((1, 96, 160, 1), np.float32), verbose=0)
    assert ab.shape == (1, 96, 160, 2)
    assert np.all(np.abs(ab) <= 1)


def test_the_gray_stem_sees_a_gray_photo_as_the_rgb_stem_does(generator, classifier):
    gray = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 1)).astype("float32")
    one = keras.Model(generator.input, generator.get_layer("blocks_15_bn2").output)
    three = keras.Model(classifier.input, classifier.get_layer("blocks_15_bn2").output)
    np.testing.assert_allclose(one.predict(gray, verbose=0), three.predict(np.repeat(gray, 3, -1), verbose=0),
                               atol=1e-3)


def test_random_weights_build_the_same_network_without_imagenet(generator):
    scratch = encoder_unet.build_generator(pretrained=False)
    assert [w.shape for w in scratch.weights] == [w.shape for w in generator.weights]
    imagenet = generator.get_layer("blocks_3_depthwise").get_weights()[0]
    assert not np.allclose(scratch.get_layer("blocks_3_depthwise").get_weights()[0], imagenet)


def test_the_exported_generator_loads_with_plain_keras(tmp_path):
    generator = encoder_unet.build_generator(pretrained=True)  # fresh: no other model shares its layers
    path = tmp_path / "generator.keras"
    generator.save(path)
    loaded = keras.models.load_model(path)
    x = np.random.default_rng(1).uniform(-1, 1, (2, 64, 64, 1)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), generator.predict(x, verbose=0), atol=1e-6)


def test_the_frozen_phase_leaves_the_encoder_unchanged():
    generator = encoder_unet.build_generator(pretrained=True)
    discriminator = models.build_discriminator(8)
    model = gan.Pix2Pix(generator, discriminator, warmup_epochs=2, frozen_epochs=1,
                        frozen_layers=encoder_unet.encoder_layers(generator))
    model.compile()
    encoder_names = {layer.name for layer in encoder_unet.encoder_layers(generator)}
    assert {"stem_conv", "blocks_15_project", "blocks_7_bn1"} <= encoder_names
    assert not any(name.startswith("decoder") for name in encoder_names)

    def snapshot():
        return {w.path: np.array(w.numpy()) for w in generator.weights}

    rng = np.random.default_rng(0)
    batch = (rng.uniform(-1, 1, (4, 64, 64, 1)).astype("float32"), rng.uniform(-0.5, 0.5, (4, 64, 64, 2)).astype("float32"))
    before = snapshot()
    model.set_epoch(0)
    model.fit(*batch, batch_size=4, epochs=1, verbose=0)
    after = snapshot()
    encoder_paths = [p for p in before if p.split("/")[0] in encoder_names]
    decoder_paths = [p for p in before if p.split("/")[0].startswith("decoder")]
    assert encoder_paths and decoder_paths
    for path in encoder_paths:  # weights and BatchNorm statistics alike
        np.testing.assert_array_equal(after[path], before[path], err_msg=path)
    assert any(not np.array_equal(after[p], before[p]) for p in decoder_paths)

    model.set_epoch(1)  # unfrozen: the encoder now learns too
    model.fit(*batch, batch_size=4, epochs=2, initial_epoch=1, verbose=0)
    assert any(not np.array_equal(generator.get_layer("stem_conv").get_weights()[0], before[p])
               for p in encoder_paths if p.startswith("stem_conv/"))


def test_frozen_batch_norm_keeps_imagenet_statistics_while_the_encoder_is_fine_tuned():
    model = training.build_pix2pix({"encoder": "efficientnet_lite0", "image_size": 64, "base_filters": 8,
                                    "frozen_epochs": 1, "frozen_batch_norm": True, "warmup_epochs": 2,
                                    "precision": "float32"})
    generator = model.generator
    norms = [layer for layer in encoder_unet.encoder_layers(generator)
             if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) > 40 and not any(layer.trainable for layer in norms)
    rng = np.random.default_rng(0)
    batch = (rng.uniform(-1, 1, (4, 64, 64, 1)).astype("float32"), rng.uniform(-0.5, 0.5, (4, 64, 64, 2)).astype("float32"))
    statistics = {w.path: np.array(w.numpy()) for layer in norms for w in layer.weights}
    stem = np.array(generator.get_layer("stem_conv").get_weights()[0])
    model.set_epoch(1)  # the encoder unfrozen: its convolutions learn, its BatchNorm stays as ImageNet left it
    # Two steps: the first one only moves the zero-initialized output convolution.
    model.fit(*[np.concatenate([part, part]) for part in batch], batch_size=4, epochs=2, initial_epoch=1, verbose=0)
    assert not np.array_equal(generator.get_layer("stem_conv").get_weights()[0], stem)
    for layer in norms:
        assert not layer.trainable, layer.name
        for w in layer.weights:
            np.testing.assert_array_equal(w.numpy(), statistics[w.path], err_msg=w.path)


def test_the_learning_rate_drops_by_the_finetune_factor_once_the_encoder_is_unfrozen():
    decay = callbacks.LinearDecay(10, 4, 2e-4, 2e-4, finetune_epoch=6, finetune_factor=0.1)
    assert decay.factors(0) == (1.0, 1.0)
    assert decay.factors(5) == (1.0, 1.0)
    generator, discriminator = decay.factors(6)  # also the first decaying epoch: 1 - 1/5
    assert generator == pytest.approx(0.08) and discriminator == pytest.approx(0.8)
    assert callbacks.LinearDecay(10, 0, 1, 1).factors(9) == (1.0, 1.0)  # no encoder: no factor


def test_depthwise_convolutions_compute_in_float32_where_the_rest_is_bfloat16():
    generator = encoder_unet.build_generator(pretrained=False, dtype="mixed_bfloat16")
    depthwise = [layer for layer in generator.layers if isinstance(layer, keras.layers.DepthwiseConv2D)]
    assert len(depthwise) == 16
    assert {layer.compute_dtype for layer in depthwise} == {"float32"}
    assert generator.get_layer("blocks_3_expand").compute_dtype == "bfloat16"
    ab = generator(np.zeros((1, 64, 64, 1), "float32"))
    assert tuple(ab.shape) == (1, 64, 64, 2) and keras.backend.standardize_dtype(ab.dtype) == "float32"
    plain = encoder_unet.build_generator(pretrained=False)
    assert {layer.compute_dtype for layer in plain.layers if isinstance(layer, keras.layers.DepthwiseConv2D)} == {"float32"}
