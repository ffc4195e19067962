"""Film clips made from still photos with known camera motion (pans, zooms, cuts), to measure colorizing films.

A shot moves a virtual camera over one photo: frame t is the photo seen through the affine map
``matrices[t]`` (photo -> frame pixels), so where each pixel of a frame was in the frame before is known
exactly (``Clip.flows``), not estimated. ``flicker`` and accuracy against the color originals are then
measured along the true motion, the same for every way of colorizing (``compare``).
"""

from dataclasses import dataclass, field
from fractions import Fraction

import av
import cv2
import numpy as np

from colorgan import color, metrics, temporal, video


@dataclass
class Clip:
    """Frames (uint8 RGB, one size), backward flows (None at each shot's first frame) and the cut indices."""

    frames: list = field(default_factory=list)
    flows: list = field(default_factory=list)  # flows[t]: frame t's pixels -> where they were in frame t - 1
    cuts: list = field(default_factory=list)

    def __add__(self, other):
        """This clip, a cut, then ``other``."""
        if not self.frames:
            return other
        return Clip(self.frames + other.frames, self.flows + other.flows,
                    self.cuts + [len(self.frames)] + [len(self.frames) + each for each in other.cuts])


def shot(photo, size, matrices):
    """One shot: ``photo`` (H, W, 3) seen through each 2x3 affine map (photo -> frame) at ``size`` (width, height)."""
    width, height = size
    frames = [cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
              for matrix in matrices]
    grid = np.stack(np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64)), -1)
    flows = [None]
    for previous, current in zip(matrices[:-1], matrices[1:], strict=True):
        # frame t pixel -> photo (inverse of current) -> frame t - 1 pixel (previous)
        to_photo = cv2.invertAffineTransform(np.asarray(current, np.float64))
        both = np.asarray(previous, np.float64) @ np.vstack([to_photo, [0.0, 0.0, 1.0]])
        where = grid @ both[:, :2].T + both[:, 2]
        flows.append((where - grid).astype(np.float32))
    return Clip(frames, flows, [])


def pan(photo, size, frames, step=(1.5, 0.5), scale=1.0):
    """A pan: the camera moves ``step`` (x, y) photo pixels a frame from the top left, at ``scale`` frame px per photo px."""
    return shot(photo, size, [np.array([[scale, 0.0, -scale * step[0] * t], [0.0, scale, -scale * step[1] * t]])
                              for t in range(frames)])


def zoom(photo, size, frames, factor=1.01):
    """A zoom into the photo's center, ``factor`` more magnified each frame, starting with the photo's height in frame."""
    height, width = photo.shape[:2]
    center, frame_center = np.array([width / 2, height / 2]), np.array([size[0] / 2, size[1] / 2])
    matrices = []
    for t in range(frames):
        scale = size[1] / height * factor ** t
        matrices.append(np.hstack([scale * np.eye(2), (frame_center - scale * center)[:, None]]))
    return shot(photo, size, matrices)


def gray(frames):
    """The clip as an old film: each frame reduced to its own lightness (R = G = B)."""
    return [color.to_uint8(np.repeat(color.lightness_u8(rgb)[..., None] / 100.0, 3, axis=-1)) for rgb in frames]


def colorize_clip(colorizer, frames, stable, batch_size=8, color_strength=1.0):
    """Colorize a list of frames as ``video.colorize_video`` does, in memory -> (frames, the FilmColorizer)."""
    film = video.FilmColorizer(colorizer, stable, color_strength=color_strength)
    colored = []
    for start in range(0, len(frames), batch_size):
        colored += film.feed(frames[start:start + batch_size])
    return colored + film.finish(), film


def measure(colored, clip):
    """Flicker along the true motion, and mean PSNR / CIEDE2000 against the clip's color originals."""
    labs = [metrics.to_lab(rgb) for rgb in colored]
    scores = [metrics.image_metrics(rgb, truth, names=("psnr", "ciede2000"), truth_lab=None)
              for rgb, truth in zip(colored, clip.frames, strict=True)]
    return {"flicker": temporal.flicker(labs, clip.flows, clip.cuts),
            "psnr": float(np.mean([score["psnr"] for score in scores])),
            "ciede2000": float(np.mean([score["ciede2000"] for score in scores]))}


def compare(colorizer, clip, batch_size=8):
    """Colorize the clip's gray version each frame alone and stabilized -> {way: measures}, the originals too."""
    film = gray(clip.frames)
    results = {"originals": measure(clip.frames, clip), "gray": measure(film, clip)}
    for way, stable in (("per frame", False), ("stable", True)):
        colored, film_colorizer = colorize_clip(colorizer, film, stable, batch_size)
        results[way] = measure(colored, clip)
        if stable:
            results[way]["cuts_found"] = list(film_colorizer.stabilizer.cuts)
    return results


def write_clip(frames, path, fps=Fraction(25), audio_hz=440.0, sample_rate=48000):
    """Write uint8 RGB frames as an H.264 film with a sine tone as its sound (AAC); no tone if ``audio_hz`` is None."""
    with av.open(str(path), "w") as writer:
        stream = writer.add_stream("libx264", rate=Fraction(fps), options={"crf": "12", "preset": "veryfast"})
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        sound = None
        if audio_hz is not None:
            sound = writer.add_stream("aac", rate=sample_rate)
            sound.layout = "mono"
            seconds = len(frames) / float(fps)
            samples = np.sin(2 * np.pi * audio_hz * np.arange(round(seconds * sample_rate)) / sample_rate)
            tone = av.AudioFrame.from_ndarray((0.3 * samples[None]).astype(np.float32), format="flt", layout="mono")
            tone.sample_rate, tone.pts = sample_rate, 0
            writer.mux(sound.encode(tone))
        for rgb in frames:
            writer.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")))
        writer.mux(stream.encode(None))
        if sound is not None:
            writer.mux(sound.encode(None))
    return path
