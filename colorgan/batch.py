"""Colorize files and folders of photos into an output folder: never an input lost, no file skipped silently.

Output names mirror the inputs: a file goes to ``<out_dir>/<its name>``, a folder's photos to
``<out_dir>/<path inside the folder>`` (formats not written back, such as GIF or HEIC, become PNG).
Films (``video``) found beside the photos are colorized too, each into ``<name>.mp4``.
The guarantees, for the command line, notebooks and Python alike:

- an output that would replace an input, or an output folder inside an input folder, is refused
  (ValueError) before anything is read or written;
- an output that already exists is kept unless ``overwrite=True``, so a re-run after an
  interruption colorizes only what is missing; each photo is written to a temporary name and
  renamed, so an interruption never leaves half a photo that a re-run would take for done;
- every file that is not colorized is in the report with its reason.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

from colorgan import images, video

# Formats written back as themselves; anything else (GIF, HEIC, PGM, ...) is written as PNG.
WRITABLE = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
JPEG_QUALITY = 95


@dataclass
class Report:
    """What a folder run did and did not do; every list holds paths, failures and skips with their reason."""

    todo: list = field(default_factory=list)  # (source, destination) still to colorize
    written: list = field(default_factory=list)  # destinations written by this run
    existing: list = field(default_factory=list)  # (source, destination) kept: already colorized
    failed: list = field(default_factory=list)  # (path, reason): photos (or inputs) that could not be colorized
    not_read: list = field(default_factory=list)  # (path, reason): files that are not photos colorgan reads
    photos: int = 0  # photo files found in the inputs
    videos: int = 0  # video files found in the inputs

    def summary(self, out_dir, redo_hint="overwrite=True redoes them"):
        """One line: how many photos were colorized, kept, failed, and how many other files were left."""
        noun = "videos" if not self.photos and self.videos else "photos and videos" if self.videos else "photos"
        parts = [f"colorized {len(self.written)} of {self.photos + self.videos} {noun} into {out_dir}"]
        if self.existing:
            parts.append(f"{len(self.existing)} already colorized, kept ({redo_hint})")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.not_read:
            parts.append(f"{len(self.not_read)} other file{'s' if len(self.not_read) > 1 else ''} not read")
        return "; ".join(parts)


def output_path(relative, out_dir):
    """Where the colorized version of a photo at ``relative`` (inside its input) goes."""
    relative = Path(relative)
    if video.is_video_file(relative):
        return Path(out_dir) / relative.with_suffix(video.DEFAULT_SUFFIX)
    if relative.suffix.lower() not in WRITABLE:
        relative = relative.with_suffix(".png")
    return Path(out_dir) / relative


def plan(inputs, out_dir, overwrite=False):
    """Inputs (files and folders) -> a Report whose ``todo`` lists what to colorize; nothing is read or written.

    Raises:
        ValueError: if ``out_dir`` is or lies inside an input folder, or an output would replace an input file.
    """
    out_dir = Path(out_dir)
    report, taken = Report(), {}
    for given in map(Path, inputs):
        if given.is_dir():
            if out_dir.resolve() == given.resolve() or given.resolve() in out_dir.resolve().parents:
                where = "is" if out_dir.resolve() == given.resolve() else "lies inside"
                raise ValueError(f"the output folder {out_dir} {where} the input folder {given}: colorized photos "
                                 "would replace or mix with the originals; write to another folder")
            photos, others = images.find_files(given)
            films = {path for path, _ in others if video.is_video_file(path) and not path.name.startswith(".")}
            report.not_read += [(path, reason) for path, reason in others if path not in films]
            pairs = [(path, path.relative_to(given)) for path in sorted([*photos, *films])]
            if not pairs:
                report.failed.append((given, "folder holds no image files"))
        elif given.is_file():
            pairs = [(given, Path(given.name))]
        else:
            report.failed.append((given, "no such file or folder"))
            continue
        report.videos += sum(video.is_video_file(source) for source, _ in pairs)
        report.photos += sum(not video.is_video_file(source) for source, _ in pairs)
        for source, relative in pairs:
            destination = output_path(relative, out_dir)
            if destination in taken:
                report.failed.append((source, f"its output {destination} is already the output of {taken[destination]}"))
                continue
            taken[destination] = source
            report.todo.append((source, destination))
    _refuse_replacing_inputs(report.todo)
    if not overwrite:
        report.existing = [(source, destination) for source, destination in report.todo if destination.exists()]
        report.todo = [(source, destination) for source, destination in report.todo if not destination.exists()]
    return report


def _refuse_replacing_inputs(pairs):
    inputs = {source.resolve(): source for source, _ in pairs}
    for source, destination in pairs:
        if destination.resolve() in inputs:
            raise ValueError(f"colorizing {source} would write over the input {inputs[destination.resolve()]}: "
                             "write to another folder")


def write_rgb(rgb, destination):
    """Write uint8 RGB to ``destination`` (format from its suffix) through a temporary file and a rename."""
    import cv2

    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    quality = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if destination.suffix.lower() in (".jpg", ".jpeg") else []
    encoded, data = cv2.imencode(destination.suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), quality)  # OpenCV: BGR
    if not encoded:
        raise OSError(f"could not encode {destination.name} as {destination.suffix}")
    temporary = destination.with_name(f".{destination.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data.tobytes())
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def colorize_files(generator, inputs, out_dir, overwrite=False, batch_size=8, working_size=None, progress=None,
                   stable=True, video_progress=False, **colorize_options):
    """Colorize photo and video files and folders (recursive) into ``out_dir`` at full resolution; returns the Report.

    Args:
        generator: as ``inference.colorize_batch`` (``inference.load_generator``).
        overwrite: redo photos whose output already exists (an input is never overwritten).
        progress: optional callable(n) told how many files were just handled (a tqdm ``update``).
        stable, video_progress: for films, ``video.colorize_video``'s ``stable`` and ``progress``.
        colorize_options: passed on to ``inference.colorize_batch`` (and ``video.colorize_video``).
    """
    from colorgan import inference

    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    report = plan(inputs, out_dir, overwrite=overwrite)
    films = [pair for pair in report.todo if video.is_video_file(pair[0])]
    todo, report.todo = [pair for pair in report.todo if pair not in films], []
    for start in range(0, len(todo), batch_size):
        batch, photos, readable = todo[start:start + batch_size], [], []
        for source, destination in batch:
            try:
                photos.append(images.read_rgb(source))
                readable.append((source, destination))
            except (images.ImageError, OSError) as error:
                report.failed.append((source, getattr(error, "reason", str(error))))
        colored = inference.colorize_batch(generator, photos, working_size=working_size, batch_size=len(photos),
                                           **colorize_options) if photos else []
        for (source, destination), rgb in zip(readable, colored, strict=True):
            try:
                write_rgb(rgb, destination)
                report.written.append(destination)
            except OSError as error:
                report.failed.append((source, str(error)))
        if progress is not None:
            progress(len(batch))
    for source, destination in films:
        try:
            video.colorize_video(generator, source, destination, stable=stable, batch_size=batch_size,
                                 working_size=working_size, overwrite=True, progress=video_progress,
                                 **colorize_options)
            report.written.append(destination)
        except (video.VideoError, OSError) as error:
            report.failed.append((source, getattr(error, "reason", str(error))))
        if progress is not None:
            progress(1)
    return report
