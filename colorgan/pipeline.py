"""Colorize many photos with reading, the network and writing overlapped on every core, in bounded memory.

Per photo, three stages: read it and compute its full-resolution L (a worker thread) -> the network on
the small L inputs that are ready, in one call (this thread) -> upsample ab, Lab -> RGB, encode and
write (a worker thread). Pillow, OpenCV, NumPy and ONNX Runtime release the GIL, so the stages of
different photos run at once on different cores; one photo at a time, decoding, the Lab math and
encoding each left the other core idle. Each stage is the one ``inference.colorize_batch`` runs, so a
photo comes out as colorizing it alone gives it.

Memory: a photo counts against ``PIXELS_IN_FLIGHT`` from the moment it is read until it is written
(its header gives the size before anything is decoded); between stages only its L waits (float32,
4 bytes a pixel), never the decoded RGB. A photo larger than the budget is admitted alone, so a folder
of 50 MP scans holds one at a time and a folder of 12 MP photos four.
"""

import os
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from PIL import Image

from colorgan import color, colorizers, images, inference

PIXELS_IN_FLIGHT = 48_000_000  # four 12 MP photos between reading and writing (~8 bytes a pixel at most)
FAILURES = (images.ImageError, OSError)  # a photo that cannot be read or written; anything else is a bug


def workers():
    """Worker threads: one per core this process may use, at least two (reading and writing overlap)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(2, cores)


def header_pixels(path):
    """Pixels of a photo from its header, nothing decoded; 0 when unknown (reading it will say why)."""
    try:
        with Image.open(path) as image:
            return image.size[0] * image.size[1]
    except Exception:  # any file Pillow cannot open: its reason comes from the reader, in a worker
        return 0


def _prepare(read, index, working_size, side):
    """Read photo ``index`` -> ((Lab -> RGB, full-resolution L (H, W) float32), network input, box, context).

    As ``inference.colorize_batch``: the network sees the 8-bit L; a 16-bit scan keeps its 16-bit L for the join.
    """
    photo, context = read(index)
    small = color.lightness_u8(inference.to_rgb_u8(photo))
    join = (color.lab_to_rgb_u16, color.lightness_u16(photo)) if inference._is_16_bit_rgb(photo) else \
        (color.lab_to_rgb_u8, small)
    del photo  # only L waits for the network
    network_input, box = inference._network_input(small, working_size, side)
    return join, network_input, box, context


def _finish(write, index, join, ab, gain, context):
    """Upsample ab, join it with the full-resolution L and hand the RGB to ``write``."""
    lab_to_rgb, lightness = join
    write(index, inference._join_in_strips(lab_to_rgb, lightness, ab, gain), context)


def colorize_each(colorizer, sources, read, write, batch_size=8, working_size=None, progress=None,
                  pixels_in_flight=PIXELS_IN_FLIGHT, color_strength=1.0):
    """Colorize photos ``sources`` (paths), overlapped: ``read`` and ``write`` run in worker threads.

    Args:
        colorizer: a ``colorizers.Colorizer`` (or a bare generator network: gain 1, working size 256).
        read: callable(index) -> (photo, context): uint8 RGB (or uint16 RGB: a 16-bit scan) and anything
            ``write`` needs back (the file's DPI, EXIF); raises images.ImageError or OSError.
        write: callable(index, rgb, context) that stores the colorized photo (uint8 RGB, uint16 for a
            16-bit photo); raises OSError.
        batch_size: at most this many photos per network call (those read by then).
        progress: optional callable(n), called in this thread as each photo is written or has failed.
        pixels_in_flight: the memory budget (see the module's docstring).
        color_strength: as ``inference.colorize_batch`` (a multiplier on the colorizer's gain).
    Returns:
        {index: exception} for each photo that could not be read or written; other exceptions propagate.
    """
    colorizer = colorizers.Colorizer.of(colorizer)
    gain = colorizer.gain_at(color_strength)
    working_size, side = inference.network_geometry(colorizer, working_size)
    sources, failures, threads = list(sources), {}, workers()
    reading, finishing = [], []  # (index, pixels, future), oldest first
    budget = {"next": 0, "in_flight": 0}

    def admit():
        # Read ahead a network batch and one photo per worker, within the pixel budget.
        while budget["next"] < len(sources) and len(reading) < batch_size + threads:
            pixels = header_pixels(sources[budget["next"]])
            if budget["in_flight"] and budget["in_flight"] + pixels > pixels_in_flight:
                return
            index, budget["next"] = budget["next"], budget["next"] + 1
            budget["in_flight"] += pixels
            reading.append((index, pixels, pool.submit(_prepare, read, index, working_size, side)))

    def done(index, pixels, error=None):
        if error is not None and not isinstance(error, FAILURES):
            raise error
        if error is not None:
            failures[index] = error
        budget["in_flight"] -= pixels
        if progress is not None:
            progress(1)

    pool = ThreadPoolExecutor(threads, thread_name_prefix="colorgan")
    try:
        admit()
        while reading or finishing:
            wait([future for _, _, future in reading + finishing], return_when=FIRST_COMPLETED)
            for index, pixels, future in [stage for stage in finishing if stage[2].done()]:
                finishing.remove((index, pixels, future))
                done(index, pixels, future.exception())
            prepared = []
            for index, pixels, future in [stage for stage in reading if stage[2].done()][:batch_size]:
                reading.remove((index, pixels, future))
                if future.exception() is not None:
                    done(index, pixels, future.exception())
                else:
                    prepared.append((index, pixels, *future.result()))
            if prepared:
                inputs = [network_input for _, _, _, network_input, _, _ in prepared]
                ab = inference.run_network(colorizer.generator, inputs)
                for i, (index, pixels, join, _, (h, w), context) in enumerate(prepared):
                    finishing.append((index, pixels, pool.submit(_finish, write, index, join, ab[i, :h, :w], gain,
                                                                 context)))
            admit()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # an error or Ctrl-C: the photos being written finish whole
    return failures
