"""Training that talks: one line per epoch, in a notebook and in the terminal under `colorgan notebooks`."""

import io
import os
import re
import subprocess
import sys

import cv2
import pytest

from colorgan import progress
from colorgan.notebooks import TalkingLines

LOGS = {"l1": 0.11234, "val_l1": 0.12, "gan_loss": float("nan"), "discriminator_loss": float("nan"),
        "val_psnr": 22.414, "val_psnr_gray": 21.5, "val_colorfulness": 12.34, "val_colorfulness_truth": 38.1}


def test_a_generator_alone_epoch_shows_its_losses_psnr_beside_gray_colorfulness_time_and_eta():
    line = progress.epoch_line(2, 20, "generator", LOGS, seconds=41.2, remaining=17 * 41.2)
    assert line == ("[colorgan] epoch 3/20 (generator alone) | l1 0.1123 val_l1 0.1200 | PSNR 22.41 dB (gray 21.50) "
                    "| colorfulness 12.3 (real 38.1) | 41 s/epoch, ETA 12 min")


def test_an_adversarial_epoch_shows_the_gan_losses_and_the_last_no_eta():
    line = progress.epoch_line(19, 20, "adversarial", {**LOGS, "gan_loss": 0.7, "discriminator_loss": 0.65},
                               seconds=6000, remaining=0)
    assert "(GAN) | l1 0.1123 val_l1 0.1200 gan 0.700 D 0.650 |" in line
    assert line.endswith("| 1 h 40 min/epoch")


@pytest.mark.parametrize("seconds, words", [(42, "42 s"), (89.4, "89 s"), (1020, "17 min"), (3 * 3600 + 300, "3 h 05 min")])
def test_durations_read_as_a_person_says_them(seconds, words):
    assert progress.duration(seconds) == words


def test_only_colorgan_lines_reach_the_terminal_even_when_written_in_pieces():
    terminal = io.StringIO()
    lines = TalkingLines(terminal)
    for piece in ("{\n \"seed\": 0\n}\n[colorgan] epoch 1", "/2 | l1 0.1\nL (4, 32, 32, 1)\n", "[colorgan] done\n"):
        lines.write(piece)
    assert terminal.getvalue() == "[colorgan] epoch 1/2 | l1 0.1\n[colorgan] done\n"


@pytest.mark.slow
def test_the_terminal_shows_a_line_per_epoch_while_colorgan_notebooks_trains(tmp_path, sample_photos):
    """Notebook 03 under `colorgan notebooks` with a tiny profile (~30 s on 2 cores)."""
    for index, (name, photo) in enumerate(sorted(sample_photos.items())):
        split = tmp_path / "prepared" / ("val" if index >= 5 else "train")
        split.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(split / f"{name}.png"), cv2.resize(photo, (40, 40))[..., ::-1])
    profile = tmp_path / "tiny.yaml"
    profile.write_text(f"prepared_dir: {tmp_path / 'prepared'}\nmodels_dir: {tmp_path / 'models'}\n"
                       "image_size: 32\nbase_filters: 8\nbatch_size: 2\nepochs: 3\nwarmup_epochs: 1\n"
                       "steps_per_epoch: 2\nprecision: float32\n")
    result = subprocess.run([sys.executable, "-m", "colorgan", "notebooks", "--params", str(profile), "03",
                             "--output-dir", str(tmp_path / "executed")],
                            capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "120"})
    assert result.returncode == 0, result.stderr[-2000:]
    epochs = [line for line in result.stdout.splitlines() if re.match(r"\[colorgan\] epoch \d/3 ", line)]
    assert [line.split()[2] for line in epochs] == ["1/3", "2/3", "3/3"], result.stdout
    assert "(generator alone)" in epochs[0] and "gan" not in epochs[0].split("|")[1]  # no GAN losses when none ran
    assert "(GAN)" in epochs[1] and " gan " in epochs[1] and " D " in epochs[1]
    for line in epochs:
        assert re.search(r"PSNR \d+\.\d\d dB \(gray \d+\.\d\d\) \| colorfulness \d+\.\d \(real \d+\.\d\)", line), line
    assert "ETA" in epochs[0] and "ETA" not in epochs[2]
    assert "Executing Cell" not in result.stdout + result.stderr  # papermill's own log stays out
