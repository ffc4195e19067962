"""A user's wait: one 12 MP photo from a fresh ``colorgan colorize``, and a folder of them, beside today's path.

Goals (issue 22), in one run: the fresh one-photo command at most 40 % of ``python -c "import tensorflow"``;
over a folder, the time per photo after the first at most 30 % of colorizing the photos one by one in a
warm process (``colorgan.colorize`` + saving a JPEG with TensorFlow, today's Python way). Every timing
is a fresh process except the warm loop; the ways are interleaved (A B C, A B C, ...) so a machine
that is busy with something else slows them alike. The generator is the shipped one, the photos
color 12 MP JPEGs (scikit-image samples upscaled, with sensor-like noise). Last, the CPU time of each
stage of one photo on one core: their sum over the cores is the least a folder can take per photo, however
well its stages overlap (``colorgan/pipeline.py``).

    .venv/bin/python bench/bench_fast_colorize.py
"""

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from colorgan import shipped  # noqa: E402

WIDTH, HEIGHT = 4000, 3000
FOLDER = common.RESULTS_DIR / "photos_12mp"
SAMPLES = ("astronaut", "coffee", "chelsea", "rocket", "astronaut", "coffee", "chelsea", "rocket")
CACHE = common.RESULTS_DIR / "cache"  # the engines' ONNX cache for this benchmark (XDG_CACHE_HOME)
REPEATS = int(os.environ.get("BENCH_REPEATS", 3))  # each repeat colorizes 38 photos of 12 MP
MODEL = str(shipped.SHIPPED_GENERATOR)


def make_photos():
    """Eight color 12 MP JPEGs (four samples, each also mirrored), written once."""
    import cv2
    import numpy as np
    from PIL import Image
    from skimage import data

    FOLDER.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(SAMPLES):
        path = FOLDER / f"photo_{i}.jpg"
        if not path.is_file():
            photo = cv2.resize(getattr(data, name)(), (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
            photo = photo[:, ::-1] if i >= 4 else photo
            noisy = photo.astype(np.int16) + np.random.default_rng(i).integers(-6, 7, photo.shape, dtype=np.int16)
            Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path, quality=90)
    return sorted(FOLDER.glob("*.jpg"))


def _cpu_of_children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _seconds(command, env=None):
    """(wall, CPU) seconds of a command in a fresh process (it must succeed); CPU counts all its threads."""
    start, cpu = time.perf_counter(), _cpu_of_children()
    completed = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{completed.stderr[-3000:]}")
    return seconds, _cpu_of_children() - cpu


def _colorize(inputs, engine, out):
    shutil.rmtree(out, ignore_errors=True)
    return _seconds([sys.executable, "-m", "colorgan", "colorize", *map(str, inputs), "-o", str(out),
                     "--model", MODEL, "--engine", engine], env={"XDG_CACHE_HOME": str(CACHE)})


def _startup(engine):
    """Seconds to import an engine and load the shipped generator into it, in a fresh process."""
    code = f"from colorgan import colorizers; colorizers.load({MODEL!r}, engine={engine!r})"
    return _seconds([sys.executable, "-c", code], env={"XDG_CACHE_HOME": str(CACHE)})


def warm_one_by_one(photos, engine):
    """In one process: load once, then per photo ``colorgan.colorize`` + a JPEG (quality 95); mean s/photo."""
    import cv2

    import colorgan

    colorizer = colorgan.load_colorizer(MODEL, engine=engine)
    out = common.RESULTS_DIR / f"one_by_one_{engine}"
    out.mkdir(parents=True, exist_ok=True)

    def once(photo):
        rgb = colorgan.colorize(colorizer, photo)
        cv2.imwrite(str(out / photo.name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])

    once(photos[0])  # warm-up: the first call builds the graph
    start, cpu = time.perf_counter(), time.process_time()
    for photo in photos:
        once(photo)
    return (time.perf_counter() - start) / len(photos), (time.process_time() - cpu) / len(photos)


def stage_seconds(photo, repeats=3):
    """CPU seconds of each stage of one photo, on one core (OpenCV and ONNX Runtime on one thread): median of
    ``repeats``. A folder on every core cannot take less per photo than their sum divided by the cores."""
    import dataclasses

    import cv2

    from colorgan import batch, color, colorizers, engines, images, inference, photofile

    cv2.setNumThreads(1)
    out = common.RESULTS_DIR / "stages_out"
    out.mkdir(parents=True, exist_ok=True)
    onnx = engines.OnnxGenerator(MODEL, threads=1)
    colorizer = dataclasses.replace(colorizers.load(MODEL, engine="onnx"), generator=onnx)  # its working size
    working_size, side = inference.network_geometry(colorizer)
    extras = photofile.read_extras(photo)
    rgb = images.read_rgb(photo)
    lightness = color.lightness_u8(rgb)
    network_input, (h, w) = inference._network_input(lightness, working_size, side)
    ab = inference.run_network(onnx, [network_input])[0, :h, :w]
    colored = inference.join(lightness, ab, 1.0)

    def write():
        batch.write_rgb(colored, out / photo.name, extras)
        batch._remember(out / photo.name, out)

    steps = {
        "read the file's header and EXIF (photofile.read_extras)": lambda: photofile.read_extras(photo),
        "decode the JPEG (images.read_rgb)": lambda: images.read_rgb(photo),
        "full-resolution L (color.lightness_u8)": lambda: color.lightness_u8(rgb),
        f"L shrunk to the network's {side}x{side} (inference._network_input)":
            lambda: inference._network_input(lightness, working_size, side),
        "the network, onnx (1 thread)": lambda: inference.run_network(onnx, [network_input]),
        "upsample ab + Lab -> RGB at full resolution (inference.join)": lambda: inference.join(lightness, ab, 1.0),
        "encode a JPEG (quality 95), write it atomically, ledger line (batch.write_rgb)": write,
    }
    return {step: common.median_seconds(function, repeats, clock=time.process_time) for step, function in steps.items()}


def main():
    photos = make_photos()
    shutil.rmtree(CACHE, ignore_errors=True)
    out = common.RESULTS_DIR / "fast_colorize_out"
    first_ever = _colorize(photos[:1], "onnx", out)[0]  # converts the generator to ONNX, into the cache
    ways = ("import tensorflow", "start onnx", "start tensorflow", "one onnx", "one tensorflow", "folder onnx",
            "folder tensorflow", "warm tensorflow", "warm onnx")
    times = {way: [] for way in ways}  # (wall, CPU) seconds of each run
    runs = {
        "import tensorflow": lambda: _seconds([sys.executable, "-c", "import tensorflow"]),
        "start onnx": lambda: _startup("onnx"),
        "start tensorflow": lambda: _startup("tensorflow"),
        "one onnx": lambda: _colorize(photos[:1], "onnx", out),
        "one tensorflow": lambda: _colorize(photos[:1], "tensorflow", out),
        "folder onnx": lambda: _colorize([FOLDER], "onnx", out),
        "folder tensorflow": lambda: _colorize([FOLDER], "tensorflow", out),
        "warm tensorflow": lambda: common.run_isolated(warm_one_by_one, photos, "tensorflow")[2],
        "warm onnx": lambda: common.run_isolated(warm_one_by_one, photos, "onnx")[2],
    }
    for repeat in range(REPEATS):  # interleaved: each way sees the same background load
        for way in ways:
            times[way].append(runs[way]())
            print(f"  run {repeat + 1}/{REPEATS} {way}: {times[way][-1][0]:.2f} s wall, {times[way][-1][1]:.2f} s CPU",
                  flush=True)
    stages = common.run_isolated(stage_seconds, photos[0])[2]  # after the runs: the same load, measured alone
    wall = {way: statistics.median(run[0] for run in runs) for way, runs in times.items()}
    cpu = {way: statistics.median(run[1] for run in runs) for way, runs in times.items()}
    for measure in (wall, cpu):  # a folder's photos after the first: (folder of N - folder of 1) / (N - 1)
        for engine in ("onnx", "tensorflow"):
            measure[f"after first {engine}"] = (measure[f"folder {engine}"] - measure[f"one {engine}"]) / (len(photos) - 1)
    base_one, base_photo = wall["import tensorflow"], wall["warm tensorflow"]
    rows = [
        {"what": "python -c 'import tensorflow'", "wall_s": base_one, "cpu_s": cpu["import tensorflow"]},
        {"what": "start-up: import + load the shipped generator, onnx", "wall_s": wall["start onnx"],
         "cpu_s": cpu["start onnx"]},
        {"what": "start-up: import + load the shipped generator, tensorflow", "wall_s": wall["start tensorflow"],
         "cpu_s": cpu["start tensorflow"]},
        {"what": "colorize 1 photo, fresh process, onnx (default)", "wall_s": wall["one onnx"],
         "cpu_s": cpu["one onnx"], "vs": f"{wall['one onnx'] / base_one:.0%} of import tensorflow"},
        {"what": "colorize 1 photo, fresh process, first run ever (converts to ONNX)", "wall_s": first_ever,
         "vs": f"{first_ever / base_one:.0%} of import tensorflow"},
        {"what": "colorize 1 photo, fresh process, --engine tensorflow (today)", "wall_s": wall["one tensorflow"],
         "cpu_s": cpu["one tensorflow"], "vs": f"{wall['one tensorflow'] / base_one:.0%} of import tensorflow"},
        {"what": f"colorize a folder of {len(photos)}, onnx: per photo after the first",
         "wall_s": wall["after first onnx"], "cpu_s": cpu["after first onnx"],
         "vs": f"{wall['after first onnx'] / base_photo:.0%} of one by one"},
        {"what": f"colorize a folder of {len(photos)}, tensorflow: per photo after the first",
         "wall_s": wall["after first tensorflow"], "cpu_s": cpu["after first tensorflow"],
         "vs": f"{wall['after first tensorflow'] / base_photo:.0%} of one by one"},
        {"what": "one by one, warm process, tensorflow (colorgan.colorize + JPEG): per photo", "wall_s": base_photo,
         "cpu_s": cpu["warm tensorflow"]},
        {"what": "one by one, warm process, onnx: per photo", "wall_s": wall["warm onnx"], "cpu_s": cpu["warm onnx"],
         "vs": f"{wall['warm onnx'] / base_photo:.0%} of one by one"},
    ]
    cores = len(os.sched_getaffinity(0))
    rows += [{"what": f"stage: {step}", "cpu_s": seconds} for step, seconds in stages.items()]
    rows.append({"what": f"stages' sum / {cores} cores: the least a folder can take per photo", "cpu_s":
                 sum(stages.values()) / cores, "vs": f"{sum(stages.values()) / cores / base_photo:.0%} of one by one"})
    one_ok = wall["one onnx"] <= 0.4 * base_one
    folder_ok = wall["after first onnx"] <= 0.3 * base_photo
    notes = (f"Goals: one photo <= 40 % of importing TensorFlow: {'met' if one_ok else 'NOT met'}; a folder's photos "
             f"after the first <= 30 % of one by one: {'met' if folder_ok else 'NOT met'}. Medians of {REPEATS} "
             f"interleaved runs; {len(photos)} color {WIDTH}x{HEIGHT} JPEGs; cpu_s: CPU seconds of all threads. Load "
             f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end. All runs (wall/CPU s): "
             + "; ".join(f"{way} " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in runs) for way, runs in times.items()))
    common.report("fast_colorize", rows, notes)


if __name__ == "__main__":
    main()
