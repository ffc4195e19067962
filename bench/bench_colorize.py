"""Colorize a 12-megapixel JPEG end to end (read, infer, upsample, write): goal <= 1.0 s median, <= 2 GB peak.

Beside it, in the same run, the naive way: scikit-image's rgb2lab / resize / lab2rgb on the full
image around the same inference. The photo is in color (the harder case for computing L); the same
photo as a one-channel JPEG, what old photos usually are, is timed too. Both use the paper's 256 U-Net (random weights: the speed is
the same) and run in fresh processes so each peak memory is its own (TensorFlow included).

    .venv/bin/python bench/bench_colorize.py
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from colorgan import shipped  # noqa: E402

WIDTH, HEIGHT = 4000, 3000
WORKING_SIZE = 256
PHOTO = common.RESULTS_DIR / "photo_12mp.jpg"
GRAY_PHOTO = common.RESULTS_DIR / "photo_12mp_gray.jpg"  # what old photos usually are: one-channel JPEG
MODEL = common.RESULTS_DIR / "generator_256.keras"
ENCODER_MODEL = common.RESULTS_DIR / "generator_efficientnet.keras"  # the pretrained-encoder U-Net (issue 17)


def make_inputs():
    """A structured 12 MP JPEG (the astronaut upscaled, plus sensor-like noise) and a saved 256 generator."""
    import cv2
    import numpy as np
    from PIL import Image
    from skimage import data

    from colorgan import encoder_unet, models

    common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    if not PHOTO.is_file():
        photo = cv2.resize(data.astronaut(), (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC).astype(np.int16)
        photo += np.random.default_rng(0).integers(-6, 7, photo.shape, dtype=np.int16)
        Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(PHOTO, quality=90)
    if not GRAY_PHOTO.is_file():
        Image.open(PHOTO).convert("L").save(GRAY_PHOTO, quality=90)
    if not MODEL.is_file():
        models.build_generator(WORKING_SIZE).save(MODEL)
    if not ENCODER_MODEL.is_file():
        encoder_unet.build_generator(pretrained=False).save(ENCODER_MODEL)


def _fast_once(generator, photo, out):
    import cv2

    from colorgan import images, inference

    rgb = images.read_rgb(photo)
    colored = inference.colorize(generator, rgb, working_size=WORKING_SIZE)
    cv2.imwrite(str(out), cv2.cvtColor(colored, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    return colored.shape


def _naive_once(generator, photo, out):
    """The textbook way: float64 scikit-image conversions and resizes of the whole 12 MP image."""
    import numpy as np
    from PIL import Image
    from skimage import color as skcolor
    from skimage import transform

    from colorgan import images

    rgb = images.read_rgb(photo)
    lab = skcolor.rgb2lab(rgb)
    height, width = rgb.shape[:2]
    scale = WORKING_SIZE / max(height, width)
    small = transform.resize(lab[..., 0], (round(height * scale), round(width * scale)), anti_aliasing=True)
    h, w = small.shape
    padded = np.pad(small, ((0, WORKING_SIZE - h), (0, WORKING_SIZE - w)), mode="reflect") / 50.0 - 1.0
    ab = np.asarray(generator.predict_on_batch(padded[None, ..., None].astype(np.float32)))[0, :h, :w] * 110.0
    lab[..., 1:] = transform.resize(ab, (height, width, 2), order=1)
    Image.fromarray((skcolor.lab2rgb(lab) * 255).round().astype(np.uint8)).save(out, quality=95)
    return rgb.shape


def measure(way, photo, repeats, model=MODEL):
    """In a fresh process: load the generator, one warm-up, then the median of ``repeats`` end-to-end runs."""
    from colorgan import colorizers

    once = {"fast": _fast_once, "naive": _naive_once}[way]
    generator = colorizers.load_generator(model)  # float32 compute (the shipped file stores float16)
    out = common.RESULTS_DIR / f"colorized_{way}_{Path(photo).stem}.jpg"
    shape = once(generator, photo, out)
    seconds = common.median_seconds(lambda: once(generator, photo, out), repeats=repeats, warmup=0)
    return seconds, shape


def stages(repeats=3):
    """Where the fast path's time goes: per-stage medians (ms) over ``repeats`` warm runs."""
    import statistics

    import cv2
    import keras
    import numpy as np

    from colorgan import color, images, inference

    generator = keras.models.load_model(MODEL, compile=False, safe_mode=True)
    inference.colorize(generator, np.zeros((300, 400), np.uint8), working_size=WORKING_SIZE)  # warm up
    runs = []
    for _ in range(repeats):
        marks = [time.perf_counter()]
        rgb = images.read_rgb(PHOTO)
        marks.append(time.perf_counter())
        lightness = color.lightness_u8(rgb)
        marks.append(time.perf_counter())
        network_input, (h, w) = inference._network_input(lightness, WORKING_SIZE, WORKING_SIZE)
        ab = np.asarray(generator.predict_on_batch(network_input[None, ..., None]))[0, :h, :w]
        marks.append(time.perf_counter())
        colored = inference.join(lightness, ab)
        marks.append(time.perf_counter())
        cv2.imwrite(str(common.RESULTS_DIR / "colorized_stages.jpg"), cv2.cvtColor(colored, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        marks.append(time.perf_counter())
        runs.append(np.diff(marks))
    names = ("read JPEG", "full-res L", "downsample + infer 256", "upsample ab + Lab->RGB", "write JPEG")
    return {name: round(1000 * statistics.median(run[i] for run in runs)) for i, name in enumerate(names)}


def main():
    make_inputs()
    rows = []
    for way, photo, repeats, label, model in (
            ("fast", PHOTO, 5, "colorgan (LUT L, OpenCV Lab->RGB)", MODEL),
            ("naive", PHOTO, 2, "naive (skimage rgb2lab/resize/lab2rgb)", MODEL),
            ("fast", GRAY_PHOTO, 5, "colorgan, gray JPEG", MODEL),
            ("fast", PHOTO, 5, "colorgan, EfficientNet-Lite0 U-Net (params/encoder.yaml)", ENCODER_MODEL),
            ("fast", PHOTO, 5, "colorgan, the shipped generator (v0.3: U-Net + encoder U-Net averaged)",
             shipped.SHIPPED_GENERATOR)):
        wall, peak_mib, (seconds, shape) = common.run_isolated(measure, way, photo, repeats, model)
        rows.append({"way": label, "median_s": seconds, "peak_MiB": round(peak_mib), "repeats": repeats,
                     "process_s": round(wall, 1), "image": f"{shape[1]}x{shape[0]} {photo.stem}"})
    _, _, breakdown = common.run_isolated(stages)
    fast, naive, encoder, both = rows[0], rows[1], rows[3], rows[4]
    met = all(row["median_s"] <= 1.0 and row["peak_MiB"] <= 2048 for row in (fast, encoder, both))
    notes = (f"speed-up {naive['median_s'] / fast['median_s']:.1f}x; goal <= 1.0 s and <= 2048 MiB for each network: "
             f"{'met' if met else 'NOT met'}. "
             f"Fast path by stage (median ms of 3 warm runs): {breakdown}. Peak includes TensorFlow and the 54M-weight "
             "generator; process_s includes start-up and model loading.")
    common.report("colorize_12mp", rows, notes)


if __name__ == "__main__":
    main()
