"""Colorize films: a video in, the same film in color out, frame for frame, with its sound.

Frames are decoded, colorized in batches and encoded as a stream (PyAV, whose wheel carries FFmpeg), so a
two-hour film never sits in memory. The output has the input's frame count, size and timestamps (so its
frame rate), H.264 in MP4 by default, and the input's audio tracks copied packet for packet (re-encoded to
AAC only when the output container cannot hold their codec). Each frame keeps its own full-resolution
lightness, as photos do (``inference``); its ab comes from the network and, by default, is made consistent
over time along the motion (``temporal.Stabilizer``); ``stable=False`` colorizes each frame as a photo.

As for photos (``batch``): the film is written under a temporary name in the output folder and renamed
when complete, so an interruption never leaves half a film under the final name, and an input is never
overwritten.
"""

import os
from pathlib import Path

import av
import numpy as np
from tqdm import tqdm

from colorgan import colorizers, inference, temporal

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv"})
OUTPUT_SUFFIXES = frozenset({".mp4", ".mov", ".mkv"})  # containers that hold H.264 and most audio codecs
DEFAULT_SUFFIX = ".mp4"  # H.264 in MP4: what phones, browsers, editors and TVs play
# x264's constant quality: 18 is about visually lossless; "medium" is its default speed/size trade-off.
ENCODER_OPTIONS = {"crf": "18", "preset": "medium"}
AUDIO_FALLBACK_CODEC = "aac"
# Sound MP4 players all decode; FFmpeg also muxes PCM, Vorbis, Opus or FLAC into MP4, which many do not.
MP4_AUDIO = frozenset({"aac", "mp3", "ac3", "eac3", "alac"})
# Untagged video is shown by players with BT.709 from 720 lines up, BT.601 below; we read it the same way.
HD_LINES = 720
# AVColorSpace tags -> the matrix swscale converts with (PyAV's Colorspace names).
_MATRICES = {1: "ITU709", 4: "FCC", 5: "ITU601", 6: "ITU601", 7: "SMPTE240M", 9: "BT2020"}
_USUAL_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}
_TAG_OF_MATRIX = {"ITU709": 1, "FCC": 4, "ITU601": 6, "SMPTE240M": 7, "BT2020": 9}


class VideoError(ValueError):
    """A film that cannot be colorized, with the file and a short reason."""

    def __init__(self, source, reason):
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


def is_video_file(path):
    """True if the file name has a video extension we read."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


class FilmColorizer:
    """A film's frames in, in order, batch by batch -> its colorized frames, in order.

    Each batch goes through the generator in one call. With ``stable`` colors (``temporal.Stabilizer``) a
    batch comes out when the next one is in, since its frames are averaged with the frames ahead;
    ``finish`` returns the last one. Without, each frame is a photo (exactly ``inference.colorize_batch``).
    """

    def __init__(self, colorizer, stable=True, working_size=None, color_strength=1.0):
        self.colorizer, self.working_size = colorizers.Colorizer.of(colorizer), working_size
        self.gain = self.colorizer.gain_at(color_strength)
        self.stabilizer = temporal.Stabilizer() if stable else None
        self.held = []  # full-resolution L of the frames the stabilizer holds back, (H, W) float32 each

    def feed(self, frames):
        """Consecutive uint8 RGB frames (H, W, 3) -> the colorized uint8 RGB frames that are ready."""
        if not len(frames):
            return []
        predicted = inference.predict_ab(self.colorizer, frames, self.working_size, batch_size=len(frames))
        if self.stabilizer is None:
            return [inference.join(lightness, ab, self.gain) for lightness, ab in predicted]
        ready = len(self.held)
        for lightness, ab in predicted:
            self.stabilizer.push(lightness, ab)
            self.held.append(lightness)
        return self._release(ready)

    def finish(self):
        """The frames still held back (the last batch)."""
        return self._release(len(self.held))

    def _release(self, count):
        lightness, self.held = self.held[:count], self.held[count:]
        if not count:
            return []
        return [inference.join(each, ab, self.gain) for each, ab in zip(lightness, self.stabilizer.pop(count),
                                                                         strict=True)]


def colorize_video(colorizer, source, destination, stable=True, batch_size=8, working_size=None,
                   color_strength=1.0, overwrite=False, progress=False):
    """Colorize the film ``source`` into ``destination`` (.mp4, .mov or .mkv; H.264) -> frames written.

    Args:
        colorizer: a ``colorizers.Colorizer`` (``colorizers.load``), as ``inference.colorize_batch`` takes.
        stable: carry colors along the motion (``temporal``); False colorizes each frame alone.
        batch_size: frames per generator call.
        color_strength, working_size: as ``inference.colorize_batch``.
        overwrite: replace ``destination`` if it exists (never the source).
        progress: True for a progress bar (frames per second, ETA), or a callable(n) told of n frames done.
    Raises:
        VideoError: naming the source, if it is not a video FFmpeg can read or holds no video stream.
        ValueError: if ``destination`` is the source, exists (and not ``overwrite``) or has an unknown suffix.
    """
    source, destination = Path(source), Path(destination)
    if destination.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"{destination}: a colorized film is written as {', '.join(sorted(OUTPUT_SUFFIXES))}")
    if destination.resolve() == source.resolve():
        raise ValueError(f"colorizing {source} would write over the input: write to another file")
    if destination.exists() and not overwrite:
        raise ValueError(f"{destination} exists; pass overwrite=True to replace it")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    film = FilmColorizer(colorizer, stable, working_size, color_strength)
    destination.parent.mkdir(parents=True, exist_ok=True)
    # Same folder (so the rename is atomic), same suffix (FFmpeg picks the container from it), hidden.
    temporary = destination.with_name(f".{destination.stem}.{os.getpid()}.tmp{destination.suffix}")
    try:
        with _open(source) as reader:
            written = _transcode(reader, source, temporary, film, int(batch_size), progress)
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)
    return written


def _open(source):
    if not Path(source).is_file():
        raise VideoError(source, "no such file")
    try:
        reader = av.open(str(source))
    except av.FFmpegError as error:
        raise VideoError(source, f"not a video FFmpeg can read ({error.strerror or error})") from None
    if not reader.streams.video:
        reader.close()
        raise VideoError(source, "holds no video stream")
    return reader


def _transcode(reader, source, path, film, batch_size, progress):
    """Decode ``reader``'s first video stream in batches, colorize, encode to ``path``, audio beside it."""
    video_in = reader.streams.video[0]
    video_in.thread_type = "AUTO"  # decode on all cores
    audio_in = list(reader.streams.audio)
    bar, update = _progress(progress, video_in, reader, source)
    try:
        with av.open(str(path), "w") as writer:
            writer.metadata.update(reader.metadata)
            encoder = _VideoEncoder(writer, video_in, source)  # every stream before the first packet: the header
            audio_out = {stream.index: _audio_stream(writer, stream) for stream in audio_in}
            pending = []
            for packet in reader.demux(video_in, *audio_in):
                if packet.stream.index == video_in.index:
                    pending += packet.decode()  # an empty packet at the end flushes the decoder
                    if len(pending) >= batch_size:
                        update(encoder.write(pending, film.feed))
                        pending = []
                else:
                    _write_audio(writer, packet, *audio_out[packet.stream.index])
            update(encoder.write(pending, film.feed))
            update(encoder.write([], lambda rgb: film.finish()))
            encoder.close()
            for stream, transcode in audio_out.values():
                if transcode:
                    writer.mux(stream.encode(None))
    except av.FFmpegError as error:
        raise VideoError(source, f"could not be transcoded: {error}") from None
    finally:
        if bar is not None:
            bar.close()
    if encoder.frames == 0:
        raise VideoError(source, "its video stream holds no frames")
    return encoder.frames


def _progress(progress, video_in, reader, source):
    """-> (a tqdm bar to close or None, callable(n) told of frames done)."""
    if callable(progress):
        return None, progress
    if not progress:
        return None, lambda count: None
    total = video_in.frames or None  # MP4 and MOV store the count; other containers: from the duration
    if total is None and reader.duration and video_in.average_rate:
        total = round(reader.duration / 1e6 * float(video_in.average_rate))
    bar = tqdm(total=total, unit="frame", desc=Path(source).name, leave=False)
    return bar, bar.update


class _VideoEncoder:
    """H.264 at the input's size, timestamps and color matrix, frame for frame."""

    def __init__(self, writer, video_in, source):
        decoder = video_in.codec_context
        if not decoder.width or not decoder.height:
            raise VideoError(source, "its video stream has no frame size")
        rate = video_in.average_rate or video_in.guessed_rate or video_in.base_rate or 25
        stream = writer.add_stream("libx264", rate=rate, options=dict(ENCODER_OPTIONS))
        stream.width, stream.height = decoder.width, decoder.height
        # 4:2:0 (what every player decodes) needs an even size; an odd one keeps its size in 4:4:4.
        stream.pix_fmt = "yuv420p" if decoder.width % 2 == 0 and decoder.height % 2 == 0 else "yuv444p"
        # The input's own clock: frame times pass through unchanged, variable frame rates included.
        stream.codec_context.time_base = video_in.time_base
        stream.time_base = video_in.time_base
        self.matrix = _MATRICES.get(decoder.colorspace) or ("ITU709" if decoder.height >= HD_LINES else "ITU601")
        stream.codec_context.colorspace = _TAG_OF_MATRIX[self.matrix]
        stream.codec_context.color_range = 1  # limited ("TV") range, the H.264 convention
        self.writer, self.stream, self.time_base = writer, stream, video_in.time_base
        self.step = max(1, round(1 / (float(rate) * float(video_in.time_base))))  # one frame, in ticks
        self.frames, self.last_pts = 0, None
        self.waiting = []  # decoded frames whose colors are not out yet (a stable colorizer holds one batch)

    def write(self, frames, colorize):
        """Decoded frames -> ``colorize``(their RGB) -> encode what it returns, in order; -> frames encoded."""
        self.waiting += frames
        rgb = [frame.to_ndarray(format="rgb24", src_colorspace=self.matrix, width=self.stream.width,
                                height=self.stream.height) for frame in frames]
        colored = colorize(rgb)
        done, self.waiting = self.waiting[:len(colored)], self.waiting[len(colored):]
        for frame, picture in zip(done, colored, strict=True):
            out = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            out = out.reformat(format=self.stream.pix_fmt, dst_colorspace=self.matrix, dst_color_range=1)
            pts = frame.pts if frame.pts is not None else (self.last_pts or 0) + self.step
            if self.last_pts is not None and pts <= self.last_pts:  # a broken clock must not stop the encoder
                pts = self.last_pts + 1
            out.pts, out.time_base, self.last_pts = pts, self.time_base, pts
            self.writer.mux(self.stream.encode(out))
            self.frames += 1
        return len(done)

    def close(self):
        self.writer.mux(self.stream.encode(None))


def _audio_stream(writer, stream):
    """An output stream for an input audio stream -> (stream, whether its packets must be re-encoded)."""
    out = None
    if writer.format.name != "mp4" or stream.codec_context.name in MP4_AUDIO:
        try:
            out, transcode = writer.add_stream_from_template(stream), False  # the packets as they are
        except ValueError:
            pass  # the container does not hold this codec
    if out is None:  # AAC at the same rate and channels
        out, transcode = writer.add_stream(AUDIO_FALLBACK_CODEC, rate=stream.rate), True
        out.layout = _layout(stream.layout)
    out.metadata.update(stream.metadata)  # the language tag, a track title
    return out, transcode


def _layout(layout):
    """A channel layout AAC takes: the input's, or (a file that names only the count) the usual one of that count."""
    if not layout.name.endswith("channels"):  # FFmpeg calls a layout of unknown order "N channels"
        return layout.name
    return _USUAL_LAYOUTS.get(layout.nb_channels, "stereo")


def _write_audio(writer, packet, stream, transcode):
    if not transcode:
        if packet.dts is not None:  # demux ends each stream with an empty packet: nothing to copy
            packet.stream = stream
            writer.mux(packet)
        return
    for frame in packet.decode():
        frame.pts = None  # the encoder's resampler keeps its own sample clock
        writer.mux(stream.encode(frame))
