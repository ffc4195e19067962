"""Data benchmark: preparing ../shared/datasets/photos, and feeding 256x256 training batches.

Side by side in one run:
- preparation throughput with all cores vs one worker, and peak memory of a 200-photo folder vs
  the whole 1,694-photo folder (streaming: the peak should not grow with the number of photos);
- the tf.data pipeline vs a naive per-image Python loop (PIL decode + scikit-image rgb2lab).
Run: .venv/bin/python bench/bench_data.py   (results in build/bench/data.json)
"""

import os
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import report, run_isolated  # noqa: E402

from colorgan.paths import BUILD_DIR, SHARED_DATASETS  # noqa: E402

PHOTOS = SHARED_DATASETS / "photos"
WORK_DIR = BUILD_DIR / "bench" / "data"
SIZE, BATCH = 256, 16
NAIVE_IMAGES = 480  # the naive loop is slow (~2 s): time it on a slice


def prepare_once(source, out, workers):
    """Prepare from scratch in this (fresh) process; returns the summary and the largest worker's peak RSS."""
    from colorgan.data import prepare

    shutil.rmtree(out, ignore_errors=True)
    start = _cpu_seconds()
    summary = prepare([source], out, size=SIZE, workers=workers, progress=False)
    worker_peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return summary, worker_peak_mib, _cpu_seconds() - start


def _cpu_seconds():
    """CPU time of this process (all threads) and its finished children: what the work costs,
    whatever else the machine is running."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def pipeline_images_per_second(prepared, cache=False, epochs=5):
    import tensorflow as tf

    from colorgan.data import make_dataset

    dataset = make_dataset(prepared, "train", image_size=SIZE, batch_size=BATCH, seed=0, cache=cache)
    for _ in dataset:  # warm up: thread pools, XLA compile, the cache
        pass
    rates, cpu_ms = [], []
    for _ in range(epochs):
        count, start, cpu = 0, time.perf_counter(), _cpu_seconds()
        for L, _ab in dataset:
            count += int(tf.shape(L)[0])
        rates.append(count / (time.perf_counter() - start))
        cpu_ms.append((_cpu_seconds() - cpu) * 1000 / count)
    return float(np.median(rates)), float(np.median(cpu_ms))


def naive_images_per_second(paths, seed=0):
    """The baseline: one photo at a time in Python, as a first notebook would write it."""
    from PIL import Image
    from skimage.color import rgb2lab

    rng = np.random.default_rng(seed)
    start, cpu = time.perf_counter(), _cpu_seconds()
    batch = []
    for path in paths:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        top = rng.integers(0, rgb.shape[0] - SIZE + 1)
        left = rng.integers(0, rgb.shape[1] - SIZE + 1)
        crop = rgb[top:top + SIZE, left:left + SIZE]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        lab = rgb2lab(crop)
        batch.append((lab[..., :1] / 50 - 1, np.clip(lab[..., 1:] / 110, -1, 1)))
        if len(batch) == BATCH:
            np.stack([b[0] for b in batch]), np.stack([b[1] for b in batch])
            batch = []
    return len(paths) / (time.perf_counter() - start), (_cpu_seconds() - cpu) * 1000 / len(paths)


def main():
    if not PHOTOS.is_dir():
        print(f"skipped: {PHOTOS} not present")
        return 0
    cores = len(os.sched_getaffinity(0))
    whole, subset = WORK_DIR / "photos", WORK_DIR / "bsds500-train"
    rows = []
    for name, source, out, workers in [("prepare 1,694 photos, all cores", PHOTOS, whole, cores),
                                       ("prepare 1,694 photos, 1 worker", PHOTOS, WORK_DIR / "one", 1),
                                       ("prepare 200 photos, all cores", PHOTOS / "bsds500-train", subset, cores)]:
        seconds, main_peak, (summary, worker_peak, cpu) = run_isolated(prepare_once, str(source), str(out), workers)
        rows.append({"what": name, "images": summary["found"], "seconds": seconds,
                     "images_per_s": summary["found"] / seconds, "cpu_ms_per_image": cpu * 1000 / summary["found"],
                     "main_peak_MiB": main_peak, "worker_peak_MiB": worker_peak})
    shutil.rmtree(WORK_DIR / "one", ignore_errors=True)

    from colorgan.data import list_images

    (pipeline, pipeline_cpu), (cached, cached_cpu) = (pipeline_images_per_second(whole, cache) for cache in (0, 1))
    naive, naive_cpu = naive_images_per_second(list_images(whole, "train")[:NAIVE_IMAGES])
    for name, rate, cpu, count in [("tf.data 256x256 training batches", pipeline, pipeline_cpu, 0),
                                   ("tf.data 256x256 training batches, cache=True", cached, cached_cpu, 0),
                                   ("naive loop: PIL + skimage rgb2lab", naive, naive_cpu, min(NAIVE_IMAGES, len(list_images(whole, "train"))))]:
        rows.append({"what": name, "images": count or len(list_images(whole, "train")), "seconds": 0.0,
                     "images_per_s": rate, "cpu_ms_per_image": cpu, "main_peak_MiB": 0.0, "worker_peak_MiB": 0.0})
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    report("data", rows, notes=(
        f"{cores} cores shared with other work: wall-clock rates are noisy, cpu_ms_per_image is what the work "
        f"costs. Goals: prepare >= 150 images/s, pipeline >= 400 images/s and >= 5x naive. Pipeline / naive = "
        f"{pipeline / naive:.1f}x wall clock (cached {cached / naive:.1f}x); CPU per image {naive_cpu / pipeline_cpu:.1f}x "
        f"less, so on {cores} free cores ~{cores * 1000 / pipeline_cpu:.0f} images/s = "
        f"{cores * naive_cpu / pipeline_cpu:.1f}x the one-core naive loop. "
        "Peak memory: main process and the largest single worker (there are `cores` workers); "
        "200 vs 1,694 photos shows it does not grow with the folder."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
