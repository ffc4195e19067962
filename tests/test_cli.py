"""The command line: help lists every command, and the lab command writes a picture of a real photo."""

import subprocess
import sys

from PIL import Image

from colorgan.cli import build_parser, main


def test_help_lists_the_commands():
    help_text = build_parser().format_help()
    for command in ("lab", "notebooks"):
        assert command in help_text


def test_python_dash_m_colorgan_answers_version():
    result = subprocess.run([sys.executable, "-m", "colorgan", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("colorgan ")


def test_lab_command_writes_panel(tmp_path, sample_photos, capsys):
    photo = tmp_path / "coffee.png"
    Image.fromarray(sample_photos["coffee"]).save(photo)
    out = tmp_path / "lab.png"
    assert main(["lab", str(photo), "-o", str(out)]) == 0
    assert Image.open(out).size[0] > 0
    assert "L in [" in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: colorgan" in capsys.readouterr().out
