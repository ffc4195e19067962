"""Shared measuring tools for the benchmarks: median wall time, peak memory, a side-by-side table.

Every benchmark compares the project's way against a baseline in the same run, on the same
machine, so the ratio means something even on a noisy 2-core box. Results go to build/bench/.
Import it before TensorFlow: it keeps TensorFlow's C++ start-up logs quiet, as the ``colorgan``
commands do (``make bench VERBOSE=1`` shows them).
"""

import json
import multiprocessing
import resource
import statistics
import time
from pathlib import Path

from colorgan import quiet
from colorgan.paths import BUILD_DIR

if not quiet.verbose_requested():
    quiet.quiet_tensorflow()  # also in the spawned measuring processes, which import this module again

RESULTS_DIR = BUILD_DIR / "bench"


def median_seconds(function, repeats=5, warmup=1, clock=time.perf_counter):
    """Median time of ``function()`` over ``repeats`` runs, after ``warmup`` untimed runs: wall time, or
    ``clock=time.process_time`` for this process's CPU time."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = clock()
        function()
        times.append(clock() - start)
    return statistics.median(times)


def _child(function, args, queue):
    start = time.perf_counter()
    result = function(*args)
    queue.put((time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, result))


def run_isolated(function, *args):
    """Run ``function(*args)`` in a fresh process; return (seconds, peak RSS in MiB, result).

    A fresh process (spawned, so it inherits no memory from this one) makes the peak
    memory the function's own. ``function`` must be importable (defined at module level).
    """
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(function, args, queue))
    process.start()
    seconds, peak_mib, result = queue.get()
    process.join()
    return seconds, peak_mib, result


def report(name, rows, notes=""):
    """Print rows (dicts with the same keys) as a table and save them to build/bench/<name>.json."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(column for row in rows for column in row))  # rows may differ: the union, in order
    widths = [max(len(str(column)), *(len(_format(row.get(column, ""))) for row in rows)) for column in columns]
    print("  ".join(str(c).ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join(_format(row.get(c, "")).ljust(w) for c, w in zip(columns, widths, strict=True)))
    if notes:
        print(notes)
    path = Path(RESULTS_DIR / f"{name}.json")
    path.write_text(json.dumps({"benchmark": name, "rows": rows, "notes": notes}, indent=2))
    print(f"-> {path}")


def _format(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)
