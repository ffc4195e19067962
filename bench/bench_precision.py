"""Training precision and phases: float32 vs bfloat16 steps, and the generator-only step vs the GAN step.

All in one process, same networks built by ``training.build_pix2pix`` (only ``precision`` differs),
alternating timed rounds of ``fit``; images per second from the median steady-state step time.
Then: do float32 and bfloat16 training agree? The same seed, data and recipe trained for
``--agree-steps`` steps in each precision, L1 compared along the way. And does oneDNN really run
bfloat16 kernels? One bfloat16 step in a subprocess with ONEDNN_VERBOSE=1, its primitives counted; and
where the EfficientNet U-Net's step spends oneDNN's time in each precision (depthwise convolutions compute in
float32 under bfloat16: ``colorgan.encoder``).

    .venv/bin/python bench/bench_precision.py [--steps N] [--rounds R] [--agree-steps S]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import report  # noqa: E402  (first: it keeps TensorFlow's C++ start-up logs quiet)

# isort: split
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from bench_train import StepClock  # noqa: E402

from colorgan import precision, training  # noqa: E402

ONEDNN_SCRIPT = """
import numpy as np
from colorgan import training
model = training.build_pix2pix({"image_size": 64, "base_filters": 32, "precision": "bfloat16", "warmup_epochs": 1})
model.set_epoch(0)
model.train_on_batch(np.zeros((16, 64, 64, 1), "float32"), np.zeros((16, 64, 64, 2), "float32"))
"""

# One training step of the EfficientNet U-Net (encoder trained) under ONEDNN_VERBOSE: which kernels take the time.
PROFILE_SCRIPT = """
import sys
import numpy as np
from colorgan import training
model = training.build_pix2pix({"encoder": "efficientnet_lite0", "pretrained": False, "image_size": 128,
                                "precision": sys.argv[1], "warmup_epochs": 1, "dropout_rate": 0.0})
model.set_epoch(0)
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (16, 128, 128, 1)).astype("float32")
y = rng.uniform(-0.5, 0.5, (16, 128, 128, 2)).astype("float32")
model.train_on_batch(x, y)  # traced, kernels created
print("STEPS_BEGIN", flush=True)
for _ in range(int(sys.argv[2])):
    model.train_on_batch(x, y)
print("STEPS_END", flush=True)
"""
PROPAGATIONS = {"forward_training": "forward", "backward_data": "backward data", "backward_weights": "backward weights"}


def batch_dataset(image_size, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    lightness = rng.uniform(-1, 1, (batch_size, image_size // 4, image_size // 4, 1)).repeat(4, 1).repeat(4, 2)
    ab = np.concatenate([0.6 * np.sin(2 * lightness), 0.4 * lightness], axis=-1)
    batch = (lightness.astype("float32"), ab.astype("float32"))
    return tf.data.Dataset.from_tensors(batch).repeat().prefetch(tf.data.AUTOTUNE)


def rates(variants, image_size, batch_size, steps, rounds):
    """{name: images/s} for {name: (config overrides, epoch)} timed in alternating rounds of fit."""
    dataset = batch_dataset(image_size, batch_size)
    clock, built, times = StepClock(), {}, {name: [] for name in variants}
    for name, (overrides, epoch) in variants.items():
        keras.utils.set_random_seed(0)
        model = training.build_pix2pix({"image_size": image_size, "batch_size": batch_size, **overrides})
        model.set_epoch(epoch)
        model.fit(dataset, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)  # trace and compile
        built[name] = model
    for _ in range(rounds):
        for name, model in built.items():
            clock.reset()
            model.fit(dataset, epochs=1, steps_per_epoch=steps + 1, verbose=0, callbacks=[clock], shuffle=False)
            times[name] += clock.intervals()
    return {name: batch_size / statistics.median(values) for name, values in times.items()}


def agreement(steps, image_size=64, base_filters=32, batch_size=16):
    """L1 along ``steps`` generator-only steps in float32 and bfloat16, same seed and data."""
    curves = {}
    for name in ("float32", "bfloat16"):
        keras.utils.set_random_seed(0)
        model = training.build_pix2pix({"image_size": image_size, "base_filters": base_filters, "batch_size": batch_size,
                                        "precision": name, "dropout_rate": 0.0, "warmup_epochs": 1})
        model.set_epoch(0)
        history = model.fit(batch_dataset(image_size, batch_size, seed=1), epochs=steps // 50, steps_per_epoch=50,
                            verbose=0, shuffle=False).history
        curves[name] = np.array(history["l1"])
    gap = np.abs(curves["bfloat16"] - curves["float32"]) / curves["float32"]
    return {"steps": steps, "l1_float32_first_last": [float(curves["float32"][0]), float(curves["float32"][-1])],
            "l1_bfloat16_first_last": [float(curves["bfloat16"][0]), float(curves["bfloat16"][-1])],
            "max_relative_gap_per_50_steps": float(gap.max())}


def onednn_exec_lines(script, *args, check=False):
    """The primitive-execution lines oneDNN prints while ``script`` runs in a subprocess with ONEDNN_VERBOSE=1;
    only those between the script's STEPS_BEGIN and STEPS_END markers where it prints them."""
    environment = {**os.environ, "ONEDNN_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=environment,
                            timeout=900, check=check)
    text = result.stdout
    if "STEPS_BEGIN" in text:
        text = text.split("STEPS_BEGIN", 1)[1].split("STEPS_END", 1)[0]
    return [line for line in text.splitlines() if line.startswith("onednn_verbose") and ",exec," in line]


def onednn_bf16_primitives():
    """Counts of oneDNN convolution primitives executed by one bfloat16 step, by data type."""
    lines = [line for line in onednn_exec_lines(ONEDNN_SCRIPT) if "convolution" in line]
    return {"convolutions_executed": len(lines), "with_bf16_data": sum("bf16" in line for line in lines),
            "implementations": sorted({_after(line.split(","), "convolution") for line in lines})[:4]}


def onednn_profile(precision_name, steps=2):
    """{kernel kind: oneDNN milliseconds per step} of the encoder U-Net's training step (encoder trained,
    128 px, batch 16), from ONEDNN_VERBOSE's exec lines; convolutions split into depthwise (grouped) and
    dense, and by propagation. Time outside oneDNN (TensorFlow's own kernels, casts) is not in it."""
    totals = {}
    for line in onednn_exec_lines(PROFILE_SCRIPT, precision_name, str(steps), check=True):
        fields = line.split(",")
        kind = fields[5]
        if kind == "convolution":
            grouped = re.match(r"g(\d+)", fields[-2])
            kind = (("depthwise" if grouped and int(grouped.group(1)) > 1 else "dense") + " conv "
                    + PROPAGATIONS.get(fields[7], fields[7]))
        totals[kind] = totals.get(kind, 0.0) + float(fields[-1]) / steps
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def _after(fields, name):
    """The field after ``name`` in a oneDNN verbose line: the implementation (e.g. brg_conv_fwd:avx512_core_bf16)."""
    return fields[fields.index(name) + 1] if name in fields[:-1] else "?"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="timed steps per round (default: 5)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default: 3)")
    parser.add_argument("--agree-steps", type=int, default=300, help="steps of the agreement run (default: 300)")
    args = parser.parse_args()
    rows = []
    for image_size, base in ((64, 32), (128, 64)):
        measured = rates({"float32": ({"base_filters": base, "precision": "float32"}, 0),
                          "bfloat16": ({"base_filters": base, "precision": "bfloat16"}, 0)},
                         image_size, 16, args.steps, args.rounds)
        rows.append({"what": "GAN step, float32 vs bfloat16", "image_size": image_size, "base_filters": base,
                     "batch_size": 16, "float32_images_per_s": measured["float32"],
                     "bfloat16_images_per_s": measured["bfloat16"], "speedup": measured["bfloat16"] / measured["float32"]})
    # The EfficientNet-Lite0 U-Net (issue 17): depthwise convolutions, whose bfloat16 kernels need not be faster.
    encoder = {"encoder": "efficientnet_lite0", "pretrained": False, "warmup_epochs": 1, "dropout_rate": 0.0}
    for frozen in (1, 0):
        measured = rates({"float32": ({**encoder, "precision": "float32", "frozen_epochs": frozen}, 0),
                          "bfloat16": ({**encoder, "precision": "bfloat16", "frozen_epochs": frozen}, 0)},
                         64, 16, args.steps, args.rounds)
        rows.append({"what": "EfficientNet U-Net generator step, float32 vs bfloat16, encoder "
                             + ("frozen" if frozen else "trained"), "image_size": 64, "batch_size": 16,
                     "float32_images_per_s": measured["float32"], "bfloat16_images_per_s": measured["bfloat16"],
                     "speedup": measured["bfloat16"] / measured["float32"]})
    best = precision.resolve("auto")
    measured = rates({"gan": ({"base_filters": 32, "precision": best, "warmup_epochs": 1}, 1),
                      "generator_only": ({"base_filters": 32, "precision": best, "warmup_epochs": 1}, 0)},
                     64, 16, args.steps * 2, args.rounds)
    rows.append({"what": f"generator-only step vs GAN step ({best})", "image_size": 64, "base_filters": 32,
                 "batch_size": 16, "gan_images_per_s": measured["gan"],
                 "generator_only_images_per_s": measured["generator_only"],
                 "speedup": measured["generator_only"] / measured["gan"]})
    rows.append({"what": "float32 vs bfloat16 training agreement", **agreement(args.agree_steps)})
    if precision.cpu_has_bf16() and not tf.config.list_physical_devices("GPU"):
        rows.append({"what": "oneDNN primitives of one bfloat16 step (ONEDNN_VERBOSE)", **onednn_bf16_primitives()})
        for name in ("float32", "bfloat16"):  # issue 17: which kernels dominate the encoder U-Net's step
            kernels = onednn_profile(name)
            rows.append({"what": f"EfficientNet U-Net step (encoder trained, 128 px), oneDNN ms per step, {name}",
                         "total_ms": sum(kernels.values()), **{kind: round(ms, 1) for kind, ms in kernels.items()}})
    report("precision", rows, notes=f"CPU ({os.cpu_count()} cores), auto precision here: {best}; median step time "
                                    f"over {args.rounds} alternating rounds of {args.steps} steps")


if __name__ == "__main__":
    main()
