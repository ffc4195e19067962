"""Colorize films: frames per second at 480p and 1080p, and flicker against colorizing each frame alone.

Throughput: a gray H.264 film with sound (a pan over the astronaut) colorized end to end by
``video.colorize_video`` (decode, network, join at full resolution, H.264 encode, sound copied) with colors
carried along the motion ("stable", the default) beside the per-frame photo path (``stable=False``), and
the floor both share: decoding and encoding alone. All in one fresh process with the shipped generator,
whose peak memory is reported.

Stability: clips made from real photos with known camera motion (a pan, a cut, a zoom; the shared
BSDS500 test photos, else scikit-image's), their gray versions colorized both ways, measured along the true
motion (``clips.compare``): flicker (mean |ab change| between consecutive frames, Lab units) and the
per-frame accuracy against the color originals (PSNR, CIEDE2000). Then a real clip, where one is installed:
the rotating Earth (NASA imagery) that ships in gradio's media assets, measured along the optical flow of
its color original (no true motion is known there).

    .venv/bin/python bench/bench_video.py
"""

import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SIZES = {"480p": ((854, 480), 48), "1080p": ((1920, 1080), 24)}  # (width, height), frames timed
CLIP_SIZE = (320, 240)
CLIPS = 8  # pan + cut + zoom clips, two photos each
PAN_FRAMES, ZOOM_FRAMES = 30, 20


def make_film(label):
    """A gray film at ``label``'s size: a slow pan over the astronaut, with a tone as its sound."""
    import cv2
    from skimage import data

    from colorgan import clips

    (width, height), frames = SIZES[label]
    path = common.RESULTS_DIR / f"film_{label}.mp4"
    if not path.is_file():
        common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        photo = cv2.resize(data.astronaut(), (round(width * 1.25), round(width * 1.25)), interpolation=cv2.INTER_CUBIC)
        clip = clips.pan(photo, (width, height), frames, step=(width / 400, width / 1200))
        clips.write_clip(clips.gray(clip.frames), path)
    return path


class Copy:
    """A colorizer that returns the frames as they are: what decoding and encoding alone cost."""

    def feed(self, frames):
        return frames

    def finish(self):
        return []


def measure(generator, way, label):
    """Colorize (or only transcode) ``label``'s film once -> (wall seconds, CPU seconds of all threads, frames)."""
    from colorgan import video

    film = make_film(label)
    out = common.RESULTS_DIR / f"film_{label}_{way.split()[0]}.mp4"
    start, cpu_start = time.perf_counter(), time.process_time()
    if way == "transcode only":
        with video._open(film) as reader:
            frames = video._transcode(reader, film, out, Copy(), 8, False)
    else:
        frames = video.colorize_video(generator, film, out, stable=way == "stable", overwrite=True)
    return time.perf_counter() - start, time.process_time() - cpu_start, frames


def measure_all():
    """In one fresh process (TensorFlow loaded once): every way at every size, after a warm-up."""
    from colorgan import colorizers, shipped

    generator = colorizers.load(shipped.SHIPPED_GENERATOR)
    measure(generator, "stable", "480p")  # warm-up: the generator's first calls, the codecs' first use
    rows = []
    for label in SIZES:
        for way in ("stable", "per frame (photo path)", "transcode only"):
            seconds, cpu_seconds, frames = measure(generator, way.split(" (")[0], label)
            rows.append({"size": label, "way": way, "fps": frames / seconds, "frames": frames,
                         "seconds": round(seconds, 2), "cpu_ms_per_frame": round(1000 * cpu_seconds / frames)})
    return rows


def throughput():
    for label in SIZES:
        make_film(label)
    _, peak_mib, rows = common.run_isolated(measure_all)
    return rows, peak_mib


def photo_pairs():
    """Pairs of real landscape photos: the shared BSDS500 test photos, else scikit-image's color samples."""
    import numpy as np
    from skimage import data

    from colorgan import images
    from colorgan.paths import SHARED_DATASETS

    folder = SHARED_DATASETS / "photos" / "bsds500-test"
    if folder.is_dir():
        photos = [images.read_rgb(path) for path in sorted(folder.glob("*.jpg"))[:2 * CLIPS]]
    else:
        photos = [getattr(data, name)() for name in ("astronaut", "coffee", "chelsea", "rocket")]
    photos = [np.ascontiguousarray(np.rot90(photo)) if photo.shape[0] > photo.shape[1] else photo for photo in photos]
    return folder.name if folder.is_dir() else "scikit-image", list(zip(photos[::2], photos[1::2], strict=True))


REAL_CLIP_FRAMES = 60


def real_clip():
    """The first frames of a real clip found in an installed package, with flows estimated on it, or None."""
    import importlib.util

    import av

    from colorgan import clips, color, temporal

    spec = importlib.util.find_spec("gradio")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "media_assets" / "videos" / "b.mp4"
    if not path.is_file():
        return None
    with av.open(str(path)) as reader:
        frames = [frame.to_ndarray(format="rgb24") for frame in itertools.islice(reader.decode(video=0), REAL_CLIP_FRAMES)]
    lightness = [color.lightness_u8(rgb) for rgb in frames]
    flows = [None] + [temporal.estimate_flow(now, before) for before, now in itertools.pairwise(lightness)]
    return path, clips.Clip(frames, flows, [])


def stability():
    import numpy as np

    from colorgan import clips, colorizers, shipped

    generator = colorizers.load(shipped.SHIPPED_GENERATOR)
    source, pairs = photo_pairs()
    results = []
    for first, second in pairs:
        clip = clips.pan(first, CLIP_SIZE, PAN_FRAMES) + clips.zoom(second, CLIP_SIZE, ZOOM_FRAMES)
        results.append(clips.compare(generator, clip))
    rows = []
    for way in ("originals", "gray", "per frame", "stable"):
        rows.append({"way": way, **{name: float(np.mean([result[way][name] for result in results]))
                                    for name in ("flicker", "psnr", "ciede2000")}})
    ratios = [result["stable"]["flicker"] / result["per frame"]["flicker"] for result in results]
    psnr_gain = [result["stable"]["psnr"] - result["per frame"]["psnr"] for result in results]
    ciede_gain = [result["per frame"]["ciede2000"] - result["stable"]["ciede2000"] for result in results]
    cuts = sum(result["stable"]["cuts_found"] == [PAN_FRAMES] for result in results)
    rows.append({"way": "stable - per frame", "flicker": rows[3]["flicker"] - rows[2]["flicker"],
                 "psnr": f"{np.mean(psnr_gain):+.3f}", "ciede2000": f"{-np.mean(ciede_gain):+.3f}"})
    notes = (f"{len(results)} clips of {CLIP_SIZE[0]}x{CLIP_SIZE[1]} ({source}): a {PAN_FRAMES}-frame pan, a cut, a "
             f"{ZOOM_FRAMES}-frame zoom. Stable / per-frame flicker per clip: {[round(r, 2) for r in ratios]} "
             f"(max {max(ratios):.2f}); PSNR gain per clip (dB): {[round(g, 3) for g in psnr_gain]}; CIEDE2000 gain "
             f"(lower is better, so >0 is better): {[round(g, 3) for g in ciede_gain]}; the cut found exactly in "
             f"{cuts} of {len(results)}. Originals: the floor of the measure (resampling along the motion).")
    found = real_clip()
    if found is not None:
        path, clip = found
        result = clips.compare(generator, clip)
        for way in ("originals", "per frame", "stable"):
            rows.append({"way": f"real clip: {way}", **{name: result[way][name] for name in ("flicker", "psnr", "ciede2000")}})
        notes += (f" Real clip: the first {len(clip.frames)} frames of {path.parent.parent.parent.name}/.../{path.name} "
                  f"({clip.frames[0].shape[1]}x{clip.frames[0].shape[0]}), flicker along DIS flow on the originals.")
    return rows, notes


def main():
    rows, notes = stability()
    common.report("video_stability", rows, notes)
    rows, peak_mib = throughput()
    common.report("video_fps", rows, "fps: frames per second end to end (decode, colorize, encode, sound copied), "
                  "the shipped generator at its working size; 'transcode only': the decoding and encoding both share. "
                  "cpu_ms_per_frame: CPU time of all the process's threads per frame, which other jobs on the "
                  "machine do not inflate as they do wall time (2 free cores: fps up to 2000 / cpu_ms_per_frame). "
                  f"Peak memory of the measuring process (TensorFlow, generator, 1080p included): {peak_mib:.0f} MiB.")


if __name__ == "__main__":
    main()
