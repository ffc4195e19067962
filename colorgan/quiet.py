"""Keep TensorFlow's C++ start-up logs off the terminal unless asked for (``colorgan --verbose``).

Importing TensorFlow writes lines such as ``I0000 00:00:... port.cc:153] oneDNN custom operations
are on`` and, on any machine without a GPU, ``E0000 ... failed call to cuInit: INTERNAL: CUDA
error``. Neither is a failure, but both read like one. ``TF_CPP_MIN_LOG_LEVEL=3`` silences what
TensorFlow logs once it runs (cuInit included) in this process and the ones it starts. The lines
written while its libraries load come before any setting is read ("All log messages before
absl::InitializeLog() is called are written to STDERR"), so the import itself runs with the stderr
file descriptor captured, and everything in it that is not such a line is passed on.
"""

import contextlib
import importlib.abc
import logging
import os
import re
import sys
import tempfile

# absl's C++ line prefix (severity, MMDD, time, thread, file:line]) and the two lines around it.
_LOG_LINE = re.compile(r"[IWEF]\d{4} [\d:]+\.\d+ +\d+ [\w.\-]+:\d+\] "
                       r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
                       r"|To enable the following instructions: ")


def strip_log_lines(text):
    """``text`` without TensorFlow's C++ log lines."""
    return "".join(line for line in text.splitlines(keepends=True) if not _LOG_LINE.match(line))


@contextlib.contextmanager
def stderr_without_log_lines():
    """Capture file descriptor 2 (C++ writes there directly) and pass on only what is not a log line."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            rest = strip_log_lines(captured.read().decode(errors="replace"))
            if rest:
                sys.stderr.write(rest)
                sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """Runs TensorFlow's top-level import with stderr filtered; everything else is its real loader's."""

    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        try:
            with stderr_without_log_lines():
                self.loader.exec_module(module)
        finally:
            module.__loader__ = module.__spec__.loader = self.loader  # leave no trace of the wrapper


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "tensorflow":
            return None
        for finder in sys.meta_path:
            # Another of these (quiet_tensorflow called twice: a kernel's start-up line, then a notebook) would
            # ask this one back, without end.
            if not isinstance(finder, _QuietTensorFlowImport) and hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, path, target)
                if spec is not None and spec.loader is not None:
                    spec.loader = _QuietLoader(spec.loader)
                    return spec
        return None


class _DropLogLines(logging.Filter):
    """Notebook kernels are other processes: their stderr reaches us through papermill's log."""

    def filter(self, record):
        if isinstance(record.msg, str) and not record.args:
            record.msg = strip_log_lines(record.msg)
            return bool(record.msg.strip())
        return True


def verbose_requested():
    """True when the environment asks for TensorFlow's logs (``COLORGAN_VERBOSE=1``, as ``make bench VERBOSE=1``)."""
    return os.environ.get("COLORGAN_VERBOSE", "") not in ("", "0")


def quiet_tensorflow():
    """Hide TensorFlow's C++ logs in this process and the ones it starts; returns a function that undoes it.

    Call it before anything imports TensorFlow (once imported, its start-up lines are already out).
    """
    saved_level = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # a level the user set on purpose is kept
    finder, log_filter = _QuietTensorFlowImport(), _DropLogLines()
    if "tensorflow" not in sys.modules:
        sys.meta_path.insert(0, finder)
    logging.getLogger("papermill").addFilter(log_filter)

    def undo():
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
        logging.getLogger("papermill").removeFilter(log_filter)
        if saved_level is None:
            os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)

    return undo


def in_notebook():
    """A notebook's first line: TensorFlow's C++ start-up logs stay out of its outputs (Jupyter shows a
    kernel's stderr in red) unless ``COLORGAN_VERBOSE=1`` (``colorgan notebooks --verbose`` sets it)."""
    if not verbose_requested():
        quiet_tensorflow()
