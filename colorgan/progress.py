"""Training that talks: one line per epoch for a person watching a terminal, notebook or log.

``[colorgan] epoch 3/20 (generator alone) | l1 0.1123 val_l1 0.1201 | PSNR 22.41 dB (gray 21.50) |
colorfulness 12.3 (real 38.1) | 41 s/epoch, ETA 12 min``. The ``[colorgan]`` prefix is what
``colorgan notebooks`` passes on from the notebook kernels to the terminal.
"""

import math
import time

import keras
import numpy as np

PHASE_WORDS = {"generator": "generator alone", "discriminator": "critic alone", "adversarial": "GAN"}
# (name in the logs, as the line shows it, format)
LINE_FIGURES = (("l1", "l1", ".4f"), ("val_l1", "val_l1", ".4f"), ("gan_loss", "gan", ".3f"),
                ("discriminator_loss", "D", ".3f"))


def duration(seconds):
    """A person's reading of a duration: 42 s, 17 min, 3 h 05 min."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def epoch_line(epoch, epochs, phase, logs, seconds, remaining):
    """One epoch for a person watching: this phase's losses, the color monitor's PSNR beside gray and
    colorfulness beside the real photos', time per epoch and the time left (ETA)."""
    parts = [f"epoch {epoch + 1}/{epochs} ({PHASE_WORDS.get(phase, phase)})",
             " ".join(f"{label} {logs[name]:{spec}}" for name, label, spec in LINE_FIGURES
                      if name in logs and math.isfinite(logs[name]))]
    if "val_psnr" in logs:
        parts.append(f"PSNR {logs['val_psnr']:.2f} dB (gray {logs['val_psnr_gray']:.2f})")
        parts.append(f"colorfulness {logs['val_colorfulness']:.1f} (real {logs['val_colorfulness_truth']:.1f})")
    parts.append(f"{duration(seconds)}/epoch" + (f", ETA {duration(remaining)}" if epoch + 1 < epochs else ""))
    return "[colorgan] " + " | ".join(part for part in parts if part)


class EpochLine(keras.callbacks.Callback):
    """Prints ``epoch_line`` after each epoch (stdout, flushed): the terminal's view of training, which
    ``colorgan notebooks`` passes on from the notebook kernels (lines that start with ``[colorgan]``).
    The ETA is the mean of the last three epochs (the first one also traces the step) times those left."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs, self.durations, self.start = epochs, [], time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.durations.append(time.perf_counter() - self.start)
        remaining = np.mean(self.durations[-3:]) * (self.epochs - epoch - 1)
        print(epoch_line(epoch, self.epochs, self.model.phase, logs or {}, self.durations[-1], remaining), flush=True)
