"""The side effects of a training run, as Keras callbacks: warm-up switch, NaN guard, exported
generators, sample grids and the resumable checkpoint (``colorgan.training`` wires them up)."""

import math
import os
from pathlib import Path

import keras
import numpy as np

from colorgan import color, plots
from colorgan.checkpoint import save_checkpoint


class WarmupSwitch(keras.callbacks.Callback):
    """Turns the adversarial terms on after ``Pix2Pix.warmup_epochs`` epochs of L1 alone."""

    def on_epoch_begin(self, epoch, logs=None):
        self.model.set_epoch(epoch)


class NanGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite loss and remembers where, for a clear error message."""

    def __init__(self):
        super().__init__()
        self.message = None
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = {name: float(value) for name, value in (logs or {}).items() if not math.isfinite(float(value))}
        if bad and self.message is None:
            self.message = f"non-finite loss at epoch {self.epoch + 1}, batch {batch + 1}: {bad}"
            self.model.stop_training = True

    @property
    def tripped(self):
        return self.message is not None


def save_keras_atomically(model, path):
    """``model.save(path)`` through a temporary file, so a crash never leaves half a .keras file."""
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.tmp.keras")
    model.save(temporary)
    os.replace(temporary, path)


class GeneratorExport(keras.callbacks.Callback):
    """Writes ``generator.keras`` when ``monitor`` improves and ``generator_last.keras`` every epoch.

    The exported copy is a float32 generator (``export_copy``) even under mixed precision, so
    inference on a CPU loads it without float16 layers. Epochs before ``first_epoch`` (the L1-only
    warm-up) do not compete for best: their sepia averages have a low L1 but are not pix2pix yet.
    """

    def __init__(self, run_dir, export_copy, guard, monitor="val_l1", best=math.inf, first_epoch=0):
        super().__init__()
        self.run_dir, self.export_copy, self.guard = Path(run_dir), export_copy, guard
        self.monitor, self.best, self.first_epoch = monitor, best, first_epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.guard.tripped:
            return
        self.export_copy.set_weights(self.model.generator.get_weights())
        save_keras_atomically(self.export_copy, self.run_dir / "generator_last.keras")
        value = (logs or {}).get(self.monitor, (logs or {}).get(self.monitor.removeprefix("val_")))
        if value is not None and epoch >= self.first_epoch and float(value) < self.best:
            self.best = float(value)
            save_keras_atomically(self.export_copy, self.run_dir / "generator.keras")


def sample_grid(generator, lightness, ab, path=None):
    """Rows: gray input, generated, real; one column per photo. L (N, S, S, 1), ab (N, S, S, 2) in [-1, 1].

    Returns the matplotlib figure (saved to ``path`` when given).
    """
    generated = generator(lightness, training=False)
    gray = color.model_to_rgb(lightness, np.zeros_like(ab)).numpy()
    rows = [list(gray), list(color.model_to_rgb(lightness, generated).numpy()),
            list(color.model_to_rgb(lightness, ab).numpy())]
    return plots.image_grid(rows, row_titles=["gray input", "generated", "real"], path=path)


class SampleGrid(keras.callbacks.Callback):
    """Every ``every`` epochs and after the last, colorizes a fixed set of validation photos into
    ``samples/epoch_NNNN.png``."""

    def __init__(self, samples_dir, lightness, ab, every=1, guard=None, last_epoch=None):
        super().__init__()
        self.samples_dir, self.lightness, self.ab = Path(samples_dir), lightness, ab
        self.every, self.guard, self.last_epoch = max(1, int(every)), guard, last_epoch

    def on_epoch_end(self, epoch, logs=None):
        if (self.guard and self.guard.tripped) or ((epoch + 1) % self.every and epoch + 1 != self.last_epoch):
            return
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        figure = sample_grid(self.model.generator, self.lightness, self.ab,
                             self.samples_dir / f"epoch_{epoch + 1:04d}.png")
        plots.plt.close(figure)  # written to disk; keep notebooks from showing every epoch's grid


class Checkpoint(keras.callbacks.Callback):
    """Every ``every`` epochs (and after the last), saves the whole training state atomically.

    Never after a non-finite loss: the last good checkpoint stays what a restart resumes from.
    """

    def __init__(self, path, every, last_epoch, guard, export):
        super().__init__()
        self.path, self.every, self.last_epoch = Path(path), max(1, int(every)), last_epoch
        self.guard, self.export = guard, export
        self.saved_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if self.guard.tripped or (done % self.every and done != self.last_epoch):
            return
        save_checkpoint(self.path, self.model, epoch=done, best=self.export.best)
        self.saved_epoch = done
