"""The Makefile documents itself: `make help` lists every target, in colour on a terminal only."""

import os
import pty
import re
import shutil
import subprocess

import pytest

from colorgan.paths import PROJECT_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")


def _targets():
    lines = (PROJECT_ROOT / "Makefile").read_text().splitlines()
    return [line.split(":")[0] for line in lines if "## " in line and not line.startswith(("#", "\t"))]


def test_help_into_a_pipe_is_plain_text_listing_every_target():
    result = subprocess.run(["make", "--no-print-directory", "help"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, check=True)
    assert "\x1b" not in result.stdout
    listed = [line.split()[0] for line in result.stdout.splitlines()]
    assert listed == _targets() and "colorize" in listed


def test_help_on_a_terminal_is_coloured():
    controller, terminal = pty.openpty()
    try:
        subprocess.run(["make", "--no-print-directory", "help"], cwd=PROJECT_ROOT, stdout=terminal, check=True)
        output = os.read(controller, 65536).decode()
    finally:
        os.close(controller), os.close(terminal)
    assert "\x1b[36mhelp" in output


def _make(*arguments):
    """make with the .venv prerequisite switched off (STAMP=): what a target runs, not the set-up."""
    return subprocess.run(["make", "--no-print-directory", *arguments, "STAMP="], cwd=PROJECT_ROOT,
                          capture_output=True, text=True)


def _joined(planned):
    """make -n's lines with their continuations joined and runs of whitespace as one space."""
    return [" ".join(line.split()) for line in " ".join(planned.split("\\\n")).splitlines()]


def test_train_cpu_trains_both_members_on_a_prepared_folder_and_averages_them_in_a_run_named_after_it(tmp_path):
    for split in ("train", "val"):
        (tmp_path / "mine" / split).mkdir(parents=True)
    planned = _joined(_make("-n", "train-cpu", f"PREPARED={tmp_path / 'mine'}").stdout)
    unet, encoder, average = [line for line in planned if " notebooks " in line or " average " in line]
    mine = f"-p prepared_dir={tmp_path / 'mine'}"
    # notebook 01 (prepare the profile's sources) is skipped; the members are not calibrated, their average is
    assert unet.endswith(f"notebooks --params params/cpu.yaml {mine} -p calibrate=false -p run_name=mine_unet 02 03")
    assert "--params params/encoder128.yaml " in encoder and mine in encoder and "-p calibrate=false" in encoder
    assert encoder.endswith('-p "extra_train_dirs=[]" -p run_name=mine_encoder 03')  # ../shared's 26k: not theirs
    assert "average models/mine_unet models/mine_encoder --out models/mine " in average
    assert "--margin-db 0.5 --margin-ciede 1.0" in average and "if test -f models/mine/generator.keras" in average
    planned = _make("-n", "train", f"PREPARED={tmp_path / 'mine'}/", "RUN=holidays").stdout.splitlines()[-1]
    assert "--params params/train.yaml" in planned and planned.endswith("-p run_name=holidays 02 03")


def test_train_cpu_on_a_fresh_machine_prepares_both_recipes_photos_first():
    planned = _joined(_make("-n", "train-cpu").stdout)
    notebooks = [line for line in planned if " notebooks " in line]
    assert notebooks[0].endswith("-p run_name=cpu_unet 01 02 03") and notebooks[1].endswith("-p run_name=cpu_encoder 01 03")
    assert any("average models/cpu_unet models/cpu_encoder --out models/cpu " in line for line in planned)


def test_a_missing_prepared_folder_is_one_line_naming_it(tmp_path):
    result = _make("train-cpu", f"PREPARED={tmp_path / 'none'}")
    assert result.returncode == 2 and result.stdout == ""
    message = [line for line in result.stderr.splitlines() if not re.match(r"make(\[\d+\])?:", line)]  # make[1]: nested
    assert message == [f"no prepared photos in {tmp_path / 'none'} (it needs train/ and val/): make them with: "
                       f"colorgan prepare PHOTOS... --out {tmp_path / 'none'}"]


def test_make_train_passes_any_training_parameter_on():
    planned = _make("-n", "train-cpu", "SET=adversarial_weight=2 working_size_factors=[1,2]").stdout.splitlines()[0]
    assert planned.endswith("-p 'adversarial_weight=2' -p 'working_size_factors=[1,2]' -p calibrate=false "
                            "-p run_name=cpu_unet 01 02 03")


def test_the_scoreboard_scores_exactly_the_runs_its_recipes_train():
    from colorgan import recipes, runs
    from colorgan.cli import build_parser
    from colorgan.commands import train
    from colorgan.config import resolve_config

    planned = _make("-n", "scoreboard").stdout.splitlines()
    [loop] = [line for line in planned if line.startswith("for recipe in ")]
    trained = loop.removeprefix("for recipe in ").split(";")[0].split()
    [board] = [line for line in planned if "colorgan scoreboard " in line]
    scored = board.split()[board.split().index("docs/scoreboard") + 1:]
    assert scored == trained and "train --recipe $recipe" in loop
    assert sorted(trained) == sorted(f"params/recipes/{path.name}" for path in recipes.RECIPES_DIR.glob("*.yaml"))
    for recipe in trained:
        args = build_parser().parse_args(["train", "--recipe", str(PROJECT_ROOT / recipe)])
        run = runs.run_dir(resolve_config(train.parameters(args)))  # where colorgan train --recipe trains
        label, generator = recipes.entry(PROJECT_ROOT / recipe)  # what colorgan scoreboard reads
        assert generator == run / runs.GENERATOR_NAME and run.name == recipes.run_name(recipe) and label
