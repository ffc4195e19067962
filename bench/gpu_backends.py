"""A GPU without TensorFlow: the shipped generator and an EfficientNet-Lite0 U-Net under Keras' JAX or torch backend.

For each: the largest difference of its raw ab from TensorFlow's on a CPU (reference arrays made where TensorFlow
is), a 12 MP photo colorized end to end (first call, then the median of 3 warm ones), and film frames per second at
512 px in batches of 16. Not part of ``make bench`` (it needs a GPU and another backend). Where TensorFlow is:

    .venv/bin/python bench/gpu_backends.py DIR --reference   # DIR/encoder_generator.keras given; writes the arrays

then on the GPU machine, with DIR copied along: ``KERAS_BACKEND=jax python3 bench/gpu_backends.py DIR`` (and torch).
"""
import json
import os
import statistics
import sys
import time

import cv2
import keras
import numpy as np
from skimage import data

import colorgan
from colorgan import colorizers, shipped

here = sys.argv[1]
GENERATORS = (("v02", "v0.2 shipped U-Net", str(shipped.SHIPPED_GENERATOR)),
              ("encoder", "EfficientNet-Lite0 U-Net", os.path.join(here, "encoder_generator.keras")))
if "--reference" in sys.argv:
    inputs = np.random.default_rng(0).uniform(-1, 1, (4, 256, 256, 1)).astype("float32")
    np.save(os.path.join(here, "inputs.npy"), inputs)
    for tag, _, path in GENERATORS:
        generator = colorizers.load(path, engine="tensorflow").generator
        np.save(os.path.join(here, f"reference_{tag}.npy"), keras.ops.convert_to_numpy(generator(inputs, training=False)))
    sys.exit(0)

backend = keras.backend.backend()
if backend == "jax":
    import jax
    device = str(jax.devices()[0])
else:
    import torch
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
inputs = np.load(os.path.join(here, "inputs.npy"))
rows = []
photo = cv2.resize(data.astronaut(), (4000, 3000), interpolation=cv2.INTER_CUBIC)
for tag, name, path in GENERATORS:
    colorizer = colorizers.load(path, engine="tensorflow")  # "tensorflow": Keras, under KERAS_BACKEND
    ab = keras.ops.convert_to_numpy(colorizer.generator(inputs, training=False))
    reference = np.load(os.path.join(here, f"reference_{tag}.npy"))
    times = []
    for _ in range(4):
        start = time.perf_counter()
        rgb = colorgan.colorize(colorizer, photo)
        times.append(time.perf_counter() - start)
    frames = np.random.default_rng(0).uniform(-1, 1, (16, 512, 512, 1)).astype("float32")
    colorizer.generator(frames, training=False)  # warm
    start = time.perf_counter()
    for _ in range(5):
        out = keras.ops.convert_to_numpy(colorizer.generator(frames, training=False))
    rate = 16 * 5 / (time.perf_counter() - start)
    rows.append({"backend": backend, "device": device, "generator": name,
                 "max_abs_ab_vs_tensorflow_cpu": float(np.abs(ab - reference).max()),
                 "colorize_12mp_first_s": round(times[0], 3), "colorize_12mp_warm_median_s": round(statistics.median(times[1:]), 3),
                 "working_size": colorizer.working_size, "output_shape": list(rgb.shape),
                 "frames_512px_per_s_batch16": round(rate, 1)})
print(json.dumps(rows))
with open(os.path.join(os.environ.get("OUT", "/tmp"), f"gpu_{backend}.json"), "w") as handle:
    json.dump(rows, handle, indent=1)
