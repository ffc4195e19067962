"""The Makefile documents itself: `make help` lists every target, in colour on a terminal only."""

import os
import pty
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
