"""Colorize files and folders of photos into an output folder: never an input lost, no file skipped silently.

Output names mirror the inputs: a file goes to ``<out_dir>/<its name>``, a folder's photos to
``<out_dir>/<path inside the folder>`` (formats not written back, such as GIF or HEIC, become PNG).
Films (``video``) found beside the photos are colorized too, each into ``<name>.mp4``.
The guarantees, for the command line, notebooks and Python alike:

- an output that would replace an input, an output folder inside an input folder, or an output that
  would land inside an input folder, is refused (ValueError) before anything is read or written;
  so is an output folder colorgan cannot write into;
- colorgan owns only the files it wrote: each is listed in the output folder's ledger
  (``LEDGER_NAME``, with its size and modification time). Any other file already at an output's name
  (yours, or one of ours you edited since) is never replaced, even with ``overwrite=True``: that photo
  is reported, not colorized;
- an output colorgan wrote is kept unless ``overwrite=True``, so a re-run after an interruption
  colorizes only what is missing; each photo is written to a temporary name and renamed, so an
  interruption never leaves half a photo that a re-run would take for done;
- every file that is not colorized is in the report with its reason.
"""

import json
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from colorgan import images, photofile, video

# Formats written back as themselves; anything else (GIF, HEIC, PGM, ...) is written as PNG.
WRITABLE = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
LEDGER_NAME = ".colorgan-colorized.jsonl"  # in the output folder: one line per photo colorgan wrote there


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
    _refuse_writing_into_inputs(report.todo, [given for given in map(Path, inputs) if given.is_dir()])
    ours = read_ledger(out_dir)
    todo, report.todo = report.todo, []
    for source, destination in todo:
        if not (destination.exists() or destination.is_symlink()):
            report.todo.append((source, destination))
        elif not _is_ours(destination, out_dir, ours):
            report.failed.append((source, f"{destination} is already there and colorgan did not write it (or it "
                                          "changed since): kept; colorize into another folder"))
        elif overwrite:
            report.todo.append((source, destination))
        else:
            report.existing.append((source, destination))
    return report


def _refuse_writing_into_inputs(pairs, folders):
    """An output folder that holds an input folder could write new files among the inputs: refuse those."""
    folders = {folder.resolve(): folder for folder in folders}
    for source, destination in pairs:
        inside = next((folders[parent] for parent in destination.resolve().parents if parent in folders), None)
        if inside is not None:
            raise ValueError(f"colorizing {source} would write {destination} inside the input folder {inside}: "
                             "write to a folder that holds no input folder")


def check_writable(out_dir):
    """Create ``out_dir`` if needed and prove a file can be written there, before any photo is colorized."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".colorgan-write-test-"):
            pass
    except OSError as error:
        raise ValueError(f"cannot write into the output folder {out_dir}: {error.strerror or error}") from None


def read_ledger(out_dir):
    """{path inside ``out_dir``: (size, modification time in ns)} of the photos colorgan wrote there."""
    path = Path(out_dir) / LEDGER_NAME
    if not path.is_file():
        return {}
    ours = {}
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="surrogateescape").splitlines(), 1):
        try:
            entry = json.loads(line)
            ours[entry["path"]] = (entry["size"], entry["mtime_ns"])
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{path}, line {number}: damaged ledger of colorized photos; move it away (colorgan "
                             "then treats every photo there as yours and replaces none)") from None
    return ours


def _is_ours(destination, out_dir, ours):
    try:
        stat = destination.lstat()
    except OSError:
        return False
    key = destination.relative_to(out_dir).as_posix()
    return not destination.is_symlink() and ours.get(key) == (stat.st_size, stat.st_mtime_ns)


def _remember(destination, out_dir):
    """Add a photo just written to the output folder's ledger (one short append: whole lines only)."""
    stat = destination.stat()
    line = json.dumps({"path": destination.relative_to(out_dir).as_posix(), "size": stat.st_size,
                       "mtime_ns": stat.st_mtime_ns}) + "\n"
    with open(Path(out_dir) / LEDGER_NAME, "a", encoding="utf-8", errors="surrogateescape") as ledger:
        ledger.write(line)


def _refuse_replacing_inputs(pairs):
    inputs = {source.resolve(): source for source, _ in pairs}
    for source, destination in pairs:
        if destination.resolve() in inputs:
            raise ValueError(f"colorizing {source} would write over the input {inputs[destination.resolve()]}: "
                             "write to another folder")


def write_rgb(rgb, destination, extras=None):
    """Write uint8 (or, as PNG or TIFF, uint16) RGB to ``destination`` (format from its suffix), with the
    input's DPI, ICC profile and EXIF (``photofile.Extras``), through a temporary file and a rename."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    data = photofile.encode(rgb, destination.suffix, extras)
    temporary = destination.with_name(f".{destination.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def colorize_files(generator, inputs, out_dir, overwrite=False, batch_size=8, working_size=None, progress=None,
                   max_pixels=images.MAX_PIXELS, stable=True, video_progress=False, **colorize_options):
    """Colorize photo and video files and folders (recursive) into ``out_dir`` at full resolution; returns the Report.

    Args:
        generator: a ``colorizers.Colorizer`` (``colorizers.load``), as ``inference.colorize_batch`` takes.
        overwrite: redo photos whose output already exists (an input is never overwritten).
        progress: optional callable(n) told how many files were just handled (a tqdm ``update``).
        max_pixels: larger photos are refused (decompression bombs); raise it for big scans on purpose.
            Photos between reading and writing hold at most ``pipeline.PIXELS_IN_FLIGHT`` (a photo above it
            goes alone), so memory stays bounded.
        stable, video_progress: for films, ``video.colorize_video``'s ``stable`` and ``progress``.
        colorize_options: ``color_strength``, as ``inference.colorize_batch`` takes it (and
            ``video.colorize_video``).
    """
    from colorgan import pipeline

    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    report = plan(inputs, out_dir, overwrite=overwrite)
    check_writable(out_dir)
    films = [pair for pair in report.todo if video.is_video_file(pair[0])]
    todo, report.todo = [pair for pair in report.todo if pair not in films], []
    ledger = threading.Lock()  # photos are written by worker threads; the ledger gets whole lines, one at a time

    def read(index):
        source, destination = todo[index]
        extras = photofile.read_extras(source)
        return (photofile.read_rgb16(source, max_pixels) if photofile.is_high_depth_output(extras, destination)
                else images.read_rgb(source, max_pixels=max_pixels)), extras

    def write(index, rgb, extras):
        write_rgb(rgb, todo[index][1], extras)
        with ledger:
            _remember(todo[index][1], out_dir)

    # Reading, the network and writing overlap on every core (pipeline), each photo within a pixel budget.
    failures = pipeline.colorize_each(generator, [source for source, _ in todo], read, write, batch_size=int(batch_size),
                                      working_size=working_size, progress=progress, **colorize_options)
    for index, (source, destination) in enumerate(todo):
        if index in failures:
            report.failed.append((source, getattr(failures[index], "reason", str(failures[index]))))
        else:
            report.written.append(destination)
    for source, destination in films:
        try:
            video.colorize_video(generator, source, destination, stable=stable, batch_size=batch_size,
                                 working_size=working_size, overwrite=True, progress=video_progress,
                                 **colorize_options)
            _remember(destination, out_dir)
            report.written.append(destination)
        except (video.VideoError, OSError) as error:
            report.failed.append((source, getattr(error, "reason", str(error))))
        if progress is not None:
            progress(1)
    return report
