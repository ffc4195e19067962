"""Which floating-point precision training computes in: a choice, ``auto`` by default.

``auto`` picks float16 on a GPU (tensor cores, with loss scaling) and float32 on CPUs without bfloat16
kernels. On CPUs with AMX or AVX512-BF16 it depends on the network, so a run measures it
(``fastest``): oneDNN's bfloat16 convolutions made the paper's U-Net ~2x faster at 128 px, while the
EfficientNet U-Net's depthwise convolutions ran 3-9x slower backward in bfloat16 (so they compute in float32
there, ``colorgan.encoder``) and its casts eat what its dense convolutions gain. ``resolve`` alone (no measurement)
says bfloat16 there. Weights and optimizer state stay float32 under both mixed policies; the exported
generator is always float32.
"""

import functools
import statistics
import time
from pathlib import Path

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}


@functools.cache
def cpu_has_bf16():
    """True when /proc/cpuinfo lists AMX-BF16 or AVX512-BF16 (Linux; False elsewhere)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("amx_bf16", "avx512_bf16"))


def resolve(precision):
    """``auto``/``float32``/``bfloat16``/``float16`` -> the concrete one (never ``auto``)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return "float16"
    return "bfloat16" if cpu_has_bf16() else "float32"


def policy(precision):
    """The Keras dtype policy name of a precision (``auto`` resolved first)."""
    return POLICIES[resolve(precision)]


def needs_loss_scaling(precision):
    """float16 gradients underflow without loss scaling; bfloat16 has float32's exponent range and needs none."""
    return resolve(precision) == "float16"


def worth_measuring(precision):
    """True when ``auto`` has two real candidates to time: float32 and bfloat16 on a CPU with bfloat16 kernels."""
    if precision != "auto" or not cpu_has_bf16():
        return False
    import tensorflow as tf

    return not tf.config.list_physical_devices("GPU")


def fastest(builders, batch, steps=3, warmup=2):
    """The precision whose training step is fastest: ({precision: seconds per step}, its name).

    The candidates are timed in alternating rounds (one step of each per round, the median of ``steps``
    rounds), so a load that comes or goes while they are timed (another job on the machine) weighs on all of
    them alike instead of on whichever was timed last.

    Args:
        builders: {precision: a function returning a compiled model in that precision}.
        batch: (inputs, targets) for ``train_on_batch``; the first ``warmup`` steps (tracing) are not timed.
    """
    models = {name: build() for name, build in builders.items()}
    for model in models.values():
        for _ in range(warmup):
            model.train_on_batch(*batch)
    times = {name: [] for name in models}
    for _ in range(steps):
        for name, model in models.items():
            start = time.perf_counter()
            model.train_on_batch(*batch)
            times[name].append(time.perf_counter() - start)
    seconds = {name: statistics.median(values) for name, values in times.items()}
    return seconds, min(seconds, key=seconds.get)
