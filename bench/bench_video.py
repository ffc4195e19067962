"""Colorize films: frames per second at 480p and 1080p, and flicker against colorizing each frame alone.

Throughput: a gray H.264 film with sound (a pan over the astronaut) colorized end to end by
``video.colorize_video`` (decode, network, join at full resolution, H.264 encode, sound copied) with colors
carried along the motion ("stable", the default) beside the per-frame photo path (``stable=False``), and
the floor both share: decoding and encoding alone. Each runs in a fresh process with the shipped generator,
so its peak memory is its own.

Stability: clips made from real photos with known camera motion (a pan, a cut, a zoom; the shared
BSDS500 test photos, else scikit-image's), their gray versions colorized both ways, measured along the true
motion (``clips.compare``): flicker (mean |ab change| between consecutive frames, Lab units) and the
per-frame accuracy against the color originals (PSNR, CIEDE2000).

    .venv/bin/python bench/bench_video.py
"""

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


def measure(way, label):
    """In a fresh process: colorize (or only transcode) the film once after a warm-up -> (seconds, frames)."""
    import av

    from colorgan import inference, shipped, video

    film = make_film(label)
    out = common.RESULTS_DIR / f"film_{label}_{way}.mp4"
    generator = inference.load_generator(shipped.SHIPPED_GENERATOR)
    inference.colorize_batch(generator, [av.open(str(film)).decode(video=0).__next__().to_ndarray(format="rgb24")])
    start = time.perf_counter()
    if way == "transcode only":
        with video._open(film) as reader:
            frames = video._transcode(reader, film, out, Copy(), 8, False)
    else:
        frames = video.colorize_video(generator, film, out, stable=way == "stable", overwrite=True)
    return time.perf_counter() - start, frames


def throughput():
    rows = []
    for label in SIZES:
        make_film(label)
        for way in ("stable", "per frame (photo path)", "transcode only"):
            _, peak_mib, (seconds, frames) = common.run_isolated(measure, way.split(" (")[0], label)
            rows.append({"size": label, "way": way, "fps": frames / seconds, "frames": frames,
                         "seconds": round(seconds, 2), "peak_MiB": round(peak_mib)})
    return rows


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


def stability():
    import numpy as np

    from colorgan import clips, inference, shipped

    generator = inference.load_generator(shipped.SHIPPED_GENERATOR)
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
    return rows, notes


def main():
    rows, notes = stability()
    common.report("video_stability", rows, notes)
    common.report("video_fps", throughput(), "fps: frames per second end to end (decode, colorize, encode); "
                  "the shipped generator at its working size; 'transcode only' is the floor both paths share.")


if __name__ == "__main__":
    main()
