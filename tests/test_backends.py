"""A generator saved by TensorFlow runs under Keras' other backends, and colorgan.colorize with it.

Each backend runs in a subprocess (KERAS_BACKEND is read once, when keras is first imported). The
subprocess must not import TensorFlow at all: a PyTorch or JAX project should not pay for it.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from skimage import data

from colorgan import color, colorizers, inference, shipped

# Measured on this machine (shipped generator, 4 photos at 128 px, ab in [-1, 1]): TensorFlow vs torch 2.13
# max |ab| difference 4.5e-7, vs JAX 0.10.2 7.8e-7 (float32 convolutions summed in different orders).
AB_TOLERANCE = 1e-5

# What a user of another backend runs: load the shipped generator, colorize, and the raw ab of given inputs.
SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import colorgan
    import keras
    from colorgan import shipped
    from skimage import data

    colorizer = colorgan.load_colorizer(shipped.SHIPPED_GENERATOR)  # not the newest run of this clone's models/
    ab = keras.ops.convert_to_numpy(colorizer.generator(np.load(sys.argv[1]), training=False))
    np.save(sys.argv[2], ab)
    rgb = colorgan.colorize(colorizer, data.astronaut())
    np.save(sys.argv[3], rgb)
    print(json.dumps({"backend": keras.backend.backend(), "tensorflow_imported": "tensorflow" in sys.modules}))
""")


def backend_installed(name):
    """Skip when the backend's library is missing on a user's clone; in CI (`make test` installs both) fail."""
    library = {"torch": "torch", "jax": "jax"}[name]
    if importlib.util.find_spec(library) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must test the {name} backend but {library} is not installed (make test installs it)")
        pytest.skip(f"{library} is not installed (make test installs it)")


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_the_shipped_generator_gives_the_same_colors_under_another_backend_without_tensorflow(backend, tmp_path):
    backend_installed(backend)
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    inputs = np.stack([inference._network_input(color.lightness_u8(photo), 128, 128)[0] for photo in photos])
    inputs = inputs[..., None].astype(np.float32)  # (4, 128, 128, 1), L in [-1, 1]
    np.save(tmp_path / "inputs.npy", inputs)

    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu"}
    completed = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "inputs.npy"), str(tmp_path / "ab.npy"),
                                str(tmp_path / "rgb.npy")], env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report == {"backend": backend, "tensorflow_imported": False}

    colorizer = colorizers.load(shipped.SHIPPED_GENERATOR)  # here: TensorFlow
    expected_ab = colorizer.generator(inputs, training=False).numpy()
    other_ab = np.load(tmp_path / "ab.npy")
    assert other_ab.shape == expected_ab.shape == (4, 128, 128, 2)
    assert np.abs(other_ab - expected_ab).max() < AB_TOLERANCE
    assert np.abs(expected_ab).max() > 0.05  # real colors were compared, not two gray outputs

    expected_rgb = inference.colorize(colorizer, data.astronaut())
    other_rgb = np.load(tmp_path / "rgb.npy")
    assert other_rgb.shape == expected_rgb.shape == (512, 512, 3) and other_rgb.dtype == np.uint8
    assert np.abs(other_rgb.astype(int) - expected_rgb.astype(int)).max() <= 1


def test_under_torch_the_generator_is_a_torch_module(tmp_path):
    """What makes it usable in a PyTorch project: parameters for an optimizer, tensors in and out."""
    backend_installed("torch")
    script = textwrap.dedent("""
        import json, torch, colorgan
        from colorgan import shipped
        generator = colorgan.load_generator(shipped.SHIPPED_GENERATOR)
        lightness = torch.zeros(1, 64, 64, 1)
        with torch.no_grad():
            ab = generator(lightness)
        print(json.dumps({"module": isinstance(generator, torch.nn.Module), "tensor": isinstance(ab, torch.Tensor),
                          "shape": list(ab.shape),
                          "parameters": sum(p.numel() for p in generator.parameters())}))
    """)
    env = {**os.environ, "KERAS_BACKEND": "torch", "TF_CPP_MIN_LOG_LEVEL": "3"}
    completed = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    expected_parameters = colorizers.load_generator(shipped.SHIPPED_GENERATOR).count_params()
    assert report == {"module": True, "tensor": True, "shape": [1, 64, 64, 2], "parameters": expected_parameters}
