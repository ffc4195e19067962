"""Commands are quiet: TensorFlow's C++ start-up logs (I0000 ..., E0000 ... cuInit) only with --verbose."""

import logging
import os
import re
import subprocess
import sys

import pytest

from colorgan import quiet
from colorgan.data import list_images, prepare
from colorgan.paths import PROJECT_ROOT

# Lines TensorFlow 2.21 writes on a machine without a GPU, verbatim but for the time stamps.
TENSORFLOW_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1795289748.159798    9137 port.cc:153] oneDNN custom operations are on. You may see ...\n",
    "I0000 00:00:1795289748.160140    9137 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow ...\n",
    "E0000 00:00:1795289750.419976    9137 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n",
]
LOG_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\]", re.MULTILINE)


def test_strip_log_lines_removes_tensorflows_lines_and_keeps_the_rest():
    ours = ["colorizing: 100%|##########| 2/2\n", "skipped a.heic: needs pillow-heif\n", "Traceback (most recent"]
    assert quiet.strip_log_lines("".join(TENSORFLOW_LINES[:3] + ours[:2] + TENSORFLOW_LINES[3:] + ours[2:])) \
        == "".join(ours)


def test_notebook_kernels_logs_reach_the_terminal_without_tensorflows_lines():
    """A kernel's stderr comes through papermill's logger: the filter keeps what the notebook itself wrote."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("papermill")
    logger.addHandler(handler)
    undo = quiet.quiet_tensorflow()
    try:
        logger.warning("".join(TENSORFLOW_LINES))
        logger.warning(TENSORFLOW_LINES[1] + "UserWarning: something the notebook said\n")
    finally:
        undo()
        logger.removeHandler(handler)
    assert [record.getMessage() for record in records] == ["UserWarning: something the notebook said\n"]


def _colorgan(*args, cwd):
    env = {name: value for name, value in os.environ.items()
           if name not in ("TF_CPP_MIN_LOG_LEVEL", "COLORGAN_VERBOSE")}
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "colorgan", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_train_and_colorize_print_no_tensorflow_logs_unless_verbose(tmp_path):
    prepared = tmp_path / "prepared"
    prepare([], prepared, size=32, val_fraction=0.3, workers=1, progress=False)
    trained = _colorgan("train", "--prepared-dir", prepared, "--run-name", "quiet", "-p", f"models_dir={tmp_path}",
                        "-p", "image_size=32", "-p", "base_filters=8", "-p", "batch_size=4", "-p", "epochs=1",
                        cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    for noise in ("I0000", "E0000", "cuInit", "absl::InitializeLog", "shuffle"):
        assert noise not in trained.stderr, trained.stderr  # `shuffle`: fit's warning about an ignored argument

    photo = list_images(prepared, "val")[0]
    # TensorFlow's engine: the default (ONNX Runtime) does not import TensorFlow, so it has no such logs at all.
    quiet_run = _colorgan("colorize", photo, "-o", tmp_path / "a", "--model", tmp_path / "quiet" / "generator.keras",
                          "--engine", "tensorflow", cwd=tmp_path)
    verbose_run = _colorgan("--verbose", "colorize", photo, "-o", tmp_path / "b", "--model",
                            tmp_path / "quiet" / "generator.keras", "--engine", "tensorflow", cwd=tmp_path)
    assert quiet_run.returncode == verbose_run.returncode == 0, quiet_run.stderr + verbose_run.stderr
    assert not LOG_LINE.search(quiet_run.stderr), quiet_run.stderr
    assert LOG_LINE.search(verbose_run.stderr), verbose_run.stderr  # the logs are there to be hidden


@pytest.mark.parametrize("argv, verbose", [
    (["lab", "photo.jpg"], False), (["--verbose", "lab", "photo.jpg"], True), (["lab", "photo.jpg", "-v"], True),
])
def test_verbose_goes_before_or_after_the_command(argv, verbose):
    from colorgan.cli import build_parser

    assert build_parser().parse_args(argv).verbose is verbose


@pytest.mark.parametrize("script", sorted((PROJECT_ROOT / "bench").glob("bench_*.py")), ids=lambda path: path.name)
def test_every_benchmark_quiets_tensorflow_before_anything_imports_it(script):
    """`make bench` is quiet too: bench/common.py hides the logs, but only when imported before TensorFlow."""
    import ast

    heavy = {"keras", "tensorflow", "bench_train"}  # bench_train imports TensorFlow itself
    order = []
    for node in ast.parse(script.read_text()).body:
        if isinstance(node, ast.Import):
            order += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            order.append(node.module.split(".")[0])
    loads_tensorflow = [index for index, name in enumerate(order) if name in heavy or name == "colorgan"]
    assert "common" in order, f"{script.name} does not import bench/common.py"
    assert not loads_tensorflow or order.index("common") < loads_tensorflow[0], \
        f"{script.name} imports {order[loads_tensorflow[0]]} before common"


def test_quieting_twice_still_finds_tensorflow(monkeypatch):
    """A notebook kernel quiets at start-up and the notebook's first cell quiets again: two finders."""
    first, second = quiet._QuietTensorFlowImport(), quiet._QuietTensorFlowImport()
    monkeypatch.setattr(sys, "meta_path", [first, second, *sys.meta_path])
    spec = first.find_spec("tensorflow", None)  # before the fix: RecursionError
    assert spec is not None and spec.name == "tensorflow" and isinstance(spec.loader, quiet._QuietLoader)
