"""Training throughput: ``Pix2Pix.fit`` against a plain ``tf.function`` GradientTape loop, same networks.

The baseline is the TensorFlow pix2pix tutorial's way: a ``@tf.function`` train step called from a
Python loop over the dataset. It does exactly the math of ``Pix2Pix.train_step`` (one generator pass,
discriminator update on the detached output, generator update against the updated discriminator), so
the ratio measures what the Keras structure (fit loop, metrics, callbacks) costs. Goal: ratio >= 0.95.

Both run in the same process, on the same networks (54.4M-parameter U-Net-256 and PatchGAN, base 64),
alternating timed rounds. On this 2-core CPU one 256x256 batch of 16 takes many seconds, so the CPU
profile times few steps per round (``--steps``): read the numbers as indicative, noisy under load.

    .venv/bin/python bench/bench_train.py [--steps N] [--rounds R]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import report  # noqa: E402  (first: it keeps TensorFlow's C++ start-up logs quiet)

# isort: split
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from colorgan import gan, models  # noqa: E402

bce = keras.losses.BinaryCrossentropy(from_logits=True)


def plain_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer, l1_weight=100.0):
    """The tutorial-style step: a tf.function with two GradientTapes, the same math as Pix2Pix.train_step."""

    @tf.function
    def step(lightness, ab):
        with tf.GradientTape() as generator_tape:
            generated = generator(lightness, training=True)
            with generator_tape.stop_recording():
                detached = tf.stop_gradient(generated)
                with tf.GradientTape() as discriminator_tape:
                    real_logits = discriminator([lightness, ab], training=True)
                    fake_logits = discriminator([lightness, detached], training=True)
                    discriminator_loss = 0.5 * (bce(tf.ones_like(real_logits), real_logits)
                                                + bce(tf.zeros_like(fake_logits), fake_logits))
                gradients = discriminator_tape.gradient(discriminator_loss, discriminator.trainable_variables)
                discriminator_optimizer.apply(gradients, discriminator.trainable_variables)
            fake_logits = discriminator([lightness, generated], training=True)
            l1 = tf.reduce_mean(tf.abs(ab - generated))
            generator_loss = bce(tf.ones_like(fake_logits), fake_logits) + l1_weight * l1
        gradients = generator_tape.gradient(generator_loss, generator.trainable_variables)
        generator_optimizer.apply(gradients, generator.trainable_variables)
        return generator_loss, discriminator_loss

    return step


class StepClock(keras.callbacks.Callback):
    """Wall-clock time at the end of every step; intervals between them are steady-state step times
    (they leave out the once-per-epoch setup, which a real epoch of ~1,000 steps amortizes)."""

    def __init__(self):
        super().__init__()
        self.stamps = []

    def reset(self):
        self.stamps = []

    def on_train_batch_end(self, batch, logs=None):
        self.stamps.append(time.perf_counter())

    def intervals(self):
        return list(np.diff(self.stamps))


def measure(image_size, batch_size, steps, rounds):
    """Images per second of both ways from the median step time, over alternating rounds."""
    keras.utils.set_random_seed(0)
    generator, discriminator = models.build_generator(image_size, 64), models.build_discriminator(64)
    rng = np.random.default_rng(0)
    batch = (rng.uniform(-1, 1, (batch_size, image_size, image_size, 1)).astype("float32"),
             rng.uniform(-1, 1, (batch_size, image_size, image_size, 2)).astype("float32"))
    dataset = tf.data.Dataset.from_tensors(batch).repeat().prefetch(tf.data.AUTOTUNE)

    model = gan.Pix2Pix(generator, discriminator)
    model.compile()

    step = plain_train_step(generator, discriminator, gan.paper_optimizer(), gan.paper_optimizer())
    iterator = iter(dataset)
    stamps = StepClock()

    def run_plain(count):
        for _ in range(count):
            losses = step(*next(iterator))
            float(losses[0])  # wait for the step, as fit's progress bar does
            stamps.on_train_batch_end(None)

    def run_fit(count):
        model.fit(dataset, epochs=1, steps_per_epoch=count, verbose=0, callbacks=[stamps])

    times = {"fit": [], "plain": []}
    run_fit(1), run_plain(1)  # trace and compile both
    for _ in range(rounds):
        for name, function in (("fit", run_fit), ("plain", run_plain)):
            stamps.reset()
            function(steps + 1)  # steps + 1 stamps: ``steps`` intervals
            times[name] += stamps.intervals()
    fit_rate = batch_size / statistics.median(times["fit"])
    plain_rate = batch_size / statistics.median(times["plain"])
    return {"image_size": image_size, "batch_size": batch_size, "timed_steps": steps * rounds,
            "fit_images_per_s": fit_rate, "plain_images_per_s": plain_rate, "ratio": fit_rate / plain_rate}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="timed steps per round (default: 1 on CPU, 20 on GPU)")
    parser.add_argument("--rounds", type=int, default=None, help="alternating timed rounds (default: 2 on CPU, 3 on GPU)")
    args = parser.parse_args()
    gpu = bool(tf.config.list_physical_devices("GPU"))
    steps = args.steps or (20 if gpu else 1)
    rounds = args.rounds or (3 if gpu else 2)
    cases = [(256, 1, steps * (1 if gpu else 4)), (256, 16, steps), (128, 16, steps * 2)]
    rows = [measure(size, batch, case_steps, rounds) for size, batch, case_steps in cases]
    device = tf.config.list_physical_devices("GPU")[0].name if gpu else f"CPU ({os.cpu_count()} cores)"
    report("train", rows, notes=f"{device}; Pix2Pix.fit vs tf.function loop, same networks (pix2pix "
                                f"U-Net at that size, base 64, and PatchGAN), median step time over {rounds} alternating rounds; goal ratio >= 0.95")


if __name__ == "__main__":
    main()
