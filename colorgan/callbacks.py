"""The side effects of a training run, as Keras callbacks: phase switch, NaN guard, color monitor,
exported generators, sample grids and the resumable checkpoint (``colorgan.training`` wires them up)."""

import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from colorgan import color, metrics, plots, runs, selection
from colorgan.checkpoint import save_checkpoint
from colorgan.gan import ABSENT_LOSSES


class PhaseSwitch(keras.callbacks.Callback):
    """Enters each epoch's phase: generator alone, discriminator alone, adversarial (``Pix2Pix.phase_of``).

    A loss the phase does not compute goes into the epoch's logs as NaN (a gap in the curves), so
    history.csv keeps the same columns from the first epoch on and never shows it as 0.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self.model.set_epoch(epoch)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            for name in ABSENT_LOSSES[self.model.phase]:
                logs.setdefault(name, float("nan"))


def decay_factor(epoch, epochs, decay_epochs):
    """The paper's schedule: 1 for the first ``epochs - decay_epochs`` epochs, then falling linearly toward
    zero over the last ``decay_epochs`` (Isola et al.: 100 + 100 epochs; epoch counted from 0)."""
    if decay_epochs <= 0:
        return 1.0
    return 1.0 - max(0, epoch + 1 - (epochs - decay_epochs)) / (decay_epochs + 1)


class LinearDecay(keras.callbacks.Callback):
    """Sets both learning rates at the start of each epoch from ``decay_factor``: computed from the epoch
    number alone, so a resumed run continues the schedule where it stopped. From ``finetune_epoch`` on (a
    pretrained encoder unfrozen) the generator's rate is also multiplied by ``finetune_factor``."""

    def __init__(self, epochs, decay_epochs, generator_learning_rate, discriminator_learning_rate,
                 finetune_epoch=None, finetune_factor=1.0):
        super().__init__()
        self.epochs, self.decay_epochs = epochs, decay_epochs
        self.rates = (generator_learning_rate, discriminator_learning_rate)
        self.finetune_epoch, self.finetune_factor = finetune_epoch, float(finetune_factor)

    def factors(self, epoch):
        """(generator's, discriminator's) multiplier of its learning rate at ``epoch`` (0-based)."""
        factor = decay_factor(epoch, self.epochs, self.decay_epochs)
        finetuning = self.finetune_epoch is not None and epoch >= self.finetune_epoch
        return factor * (self.finetune_factor if finetuning else 1.0), factor

    def on_epoch_begin(self, epoch, logs=None):
        for optimizer, rate, factor in zip((self.model.generator_optimizer, self.model.discriminator_optimizer),
                                           self.rates, self.factors(epoch), strict=True):
            optimizer.learning_rate = rate * factor


class EpochClock(keras.callbacks.Callback):
    """Adds ``cpu_minutes`` and ``wall_minutes`` (cumulative over the run, restarts included) to each
    epoch's logs: process CPU time is what recipes are compared at, whatever else shares the machine."""

    def __init__(self, history_path):
        super().__init__()
        self.offset = {"cpu_minutes": 0.0, "wall_minutes": 0.0}
        if Path(history_path).is_file():
            try:
                history = runs.read_history(Path(history_path).parent)
                self.offset = {name: float(history[name][-1]) for name in self.offset if len(history.get(name, []))}
                self.offset = {"cpu_minutes": 0.0, "wall_minutes": 0.0, **self.offset}
            except (runs.RunError, KeyError, ValueError):
                pass
        self.cpu_start, self.wall_start = time.process_time(), time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["cpu_minutes"] = self.offset["cpu_minutes"] + (time.process_time() - self.cpu_start) / 60
            logs["wall_minutes"] = self.offset["wall_minutes"] + (time.perf_counter() - self.wall_start) / 60


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


def color_figures(generator, lightness, ab, batch_size=32):
    """The sepia and haze monitor on (L, ab) crops in [-1, 1] -> {name: float}.

    PSNR and CIEDE2000 of the colorized crops against the real ones (and of the gray crops, the
    baseline), colorfulness of both, and the share of ab variance explained (``metrics.ab_explained``,
    on the network's ab itself: gray's error is the truth's ab energy).
    """
    generated = np.concatenate([np.asarray(generator(lightness[i:i + batch_size], training=False))
                                for i in range(0, len(lightness), batch_size)])
    truth_rgb = color.to_uint8(color.model_to_rgb(lightness, ab).numpy())
    rgb = color.to_uint8(color.model_to_rgb(lightness, generated).numpy())
    gray_rgb = color.to_uint8(color.model_to_rgb(lightness, np.zeros_like(ab)).numpy())
    truth_lab = color.rgb_u8_to_lab(truth_rgb.reshape(-1, truth_rgb.shape[2], 3))
    lab = color.rgb_u8_to_lab(rgb.reshape(-1, rgb.shape[2], 3))
    gray_lab = color.rgb_u8_to_lab(gray_rgb.reshape(-1, gray_rgb.shape[2], 3))
    truth = np.asarray(ab, np.float64)
    return {
        "psnr": float(np.mean([metrics.psnr(p, t) for p, t in zip(rgb, truth_rgb, strict=True)])),
        "psnr_gray": float(np.mean([metrics.psnr(p, t) for p, t in zip(gray_rgb, truth_rgb, strict=True)])),
        "ciede2000": metrics.ciede2000(lab, truth_lab),
        "ciede2000_gray": metrics.ciede2000(gray_lab, truth_lab),
        "colorfulness": float(np.mean([metrics.colorfulness(p) for p in rgb])),
        "colorfulness_truth": float(np.mean([metrics.colorfulness(t) for t in truth_rgb])),
        "ab_explained": metrics.ab_explained(np.mean(np.square(np.asarray(generated, np.float64) - truth)),
                                             np.mean(np.square(truth))),
    }


class ColorMonitor(keras.callbacks.Callback):
    """Every epoch: puts the exported generator's weights (the moving average when on) into
    ``export_copy`` and adds ``color_figures`` on the validation crops to the logs as ``val_*``,
    so history.csv, TensorBoard and the selection rule see them."""

    def __init__(self, export_copy, lightness, ab, guard):
        super().__init__()
        self.export_copy, self.lightness, self.ab, self.guard = export_copy, lightness, ab, guard

    def on_epoch_end(self, epoch, logs=None):
        if self.guard.tripped or logs is None:
            return
        self.export_copy.set_weights(self.model.export_weights())
        logs.update({f"val_{name}": value for name, value in
                     color_figures(self.export_copy, self.lightness, self.ab).items()})


class GeneratorExport(keras.callbacks.Callback):
    """Writes ``generator_last.keras`` every epoch and ``generator.keras`` when the selection rule
    (``selection.better``) prefers this epoch to every earlier one; epochs before ``first_epoch`` do not compete.

    The exported copy is a float32 generator (``export_copy``, weights set by ``ColorMonitor``)
    even under mixed precision, so inference on a CPU loads it without bfloat16 or float16 layers.
    """

    def __init__(self, run_dir, export_copy, guard, best=None, first_epoch=0,
                 min_ratio=selection.MIN_COLORFULNESS_RATIO):
        super().__init__()
        self.run_dir, self.export_copy, self.guard = Path(run_dir), export_copy, guard
        self.best = None if best is None or isinstance(best, float) else tuple(best)
        self.first_epoch, self.min_ratio = first_epoch, min_ratio

    def on_epoch_end(self, epoch, logs=None):
        if self.guard.tripped:
            return
        logs = logs or {}
        save_keras_atomically(self.export_copy, self.run_dir / runs.LAST_GENERATOR_NAME)
        if epoch < self.first_epoch or "val_psnr" not in logs:
            return
        candidate = selection.score(logs["val_psnr"], logs["val_colorfulness"], logs["val_colorfulness_truth"],
                                    self.min_ratio)
        if selection.better(candidate, self.best):
            self.best = candidate
            save_keras_atomically(self.export_copy, self.run_dir / runs.GENERATOR_NAME)


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

