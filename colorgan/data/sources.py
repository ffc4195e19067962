"""Where photos come from: folders, zip archives, URLs, and scikit-image's samples by default.

Sources are walked lazily and in sorted order, yielding small ``Item`` records (never pixels),
one per file: a file that is not read (not a photo, hidden, a gray twin) carries the reason.
Layouts of earlier colorization projects are recognised inside any folder or archive:

- class folders (CIFAR-10's ``train/<class>/*.jpg``): plain recursion, the split is ours;
- paired ``Gray/`` + ``Color/`` folders: only the color side is read;
- ``train_x/`` + ``train_y/`` (and ``test_x``/``test_y``): only the side whose photos have color.
A gray twin adds nothing: gray is exactly the L channel we compute from the color photo.
"""

import io
import os
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import skimage

from colorgan.data.download import download, is_url
from colorgan.images import (ImageError, find_images, is_image_file, link_problem, read_rgb, skip_reason,
                             unreadable_folder)
from colorgan.paths import resolve

# The color photographs that ship inside scikit-image (no download): the built-in default source.
# Left out: color.png (a synthetic color wheel) and logo.png (a graphic), which are not photos.
SKIMAGE_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "hubble_deep_field.jpg",
                  "retina.jpg", "ihc.png", "motorcycle_left.png", "motorcycle_right.png")
SKIMAGE_DATA_DIR = Path(skimage.__file__).parent / "data"

GRAY_NAMES = frozenset({"gray", "grey", "grayscale", "greyscale", "bw", "black_and_white", "mono", "monochrome"})
COLOR_NAMES = frozenset({"color", "colour", "colored", "coloured", "rgb"})
GRAY_TWIN = "gray twin: the gray side of a paired layout (the color side beside it is read)"
# A photo inside an archive is read whole into memory: far above any photo, far below what exhausts memory.
MAX_MEMBER_BYTES = 512 << 20
HIDDEN_FOLDER = "hidden file: inside a hidden or system folder (.thumbnails, __MACOSX), not a photo"


@dataclass(frozen=True)
class Item:
    """One image file to prepare."""

    origin: str  # how the manifest names it: a path, or "archive.zip!member/name.jpg"
    path: str  # the file, or the archive holding it
    member: str | None = None  # the member inside a zip archive
    signature: str = ""  # changes when the file does (size + mtime, or the member's CRC + size)
    skip: str | None = None  # why it is not read, or None (see ``images.skip_reason``)


def default_sources():
    return [str(SKIMAGE_DATA_DIR / name) for name in SKIMAGE_PHOTOS]


def find_items(sources, cache_dir=None):
    """Yield an ``Item`` per file in ``sources`` (paths, .zip files or URLs); [] = scikit-image photos.

    Files that are not read carry the reason in ``Item.skip``.

    Raises ValueError for a source that does not exist (a typo should stop the run, a bad
    photo should not).
    """
    for source in list(sources) or default_sources():
        if is_url(source):
            path = download(source, cache_dir=cache_dir)
        else:
            path = resolve(source).resolve()  # one spelling per file: the manifest is keyed by it
            if not path.exists():
                raise ValueError(f"source not found: {path}")
        if path.is_dir():
            yield from _walk_folder(path)
        elif zipfile.is_zipfile(path):
            yield from _walk_zip(path)
        else:
            yield _file_item(path)  # a single file, image or not: preparation reports which


def read_item(item: Item) -> bytes:
    """The raw bytes of one item (zip archives stay open per process: CIFAR-10 has 12,000 members)."""
    if item.member is None:
        return Path(item.path).read_bytes()
    return _read_member(_open_zip(item.path), item.member)


def _read_member(archive, name) -> bytes:
    """One member's bytes, never more than MAX_MEMBER_BYTES in memory (the sizes a zip states can lie)."""
    with archive.open(name) as member:
        data = member.read(MAX_MEMBER_BYTES + 1)
    if len(data) > MAX_MEMBER_BYTES:
        raise OSError(f"{name} inside the archive is larger than {MAX_MEMBER_BYTES:,} bytes, the limit")
    return data


@lru_cache(maxsize=8)
def _open_zip(path):
    return zipfile.ZipFile(path)


def _file_item(path: Path, skip=None) -> Item:
    problem = link_problem(path)  # a broken or looping link cannot be stat'ed: named instead
    if problem:
        return Item(str(path), str(path), None, "", problem)
    stat = path.stat()
    return Item(str(path), str(path), None, f"{stat.st_size}:{stat.st_mtime_ns}", skip)


def _walk_folder(root: Path):
    folder_skip = {str(root): None}  # a folder's reason applies to every file below it
    errors = []  # folders os.walk could not list
    for folder, subfolders, files in os.walk(root, onerror=errors.append):
        subfolders.sort()
        for name in [name for name in subfolders if link_problem(Path(folder) / name)]:
            subfolders.remove(name)  # a link to a folder: named, not entered
            yield _file_item(Path(folder) / name)
        yield from (Item(str(path), str(path), None, "", reason)
                    for path, reason in map(unreadable_folder, errors))
        errors.clear()
        skip = folder_skip[folder]
        twins = set() if skip else _twin_folders_to_skip(
            subfolders, lambda name, f=folder: _first_image_in_folder(Path(f) / name))
        for name in subfolders:
            folder_skip[os.path.join(folder, name)] = skip or (
                GRAY_TWIN if name in twins else HIDDEN_FOLDER if name.startswith(".") else None)
        for name in sorted(files):
            yield _file_item(Path(folder) / name, skip or skip_reason(name))
    yield from (Item(str(path), str(path), None, "", reason) for path, reason in map(unreadable_folder, errors))


def _walk_zip(path: Path):
    """Items of a zip archive, in linear time in its members (a member's ancestors, not all members, are looked at)."""
    archive = _open_zip(str(path))
    infos = sorted((info for info in archive.infolist() if not info.is_dir()), key=lambda info: info.filename)
    # Rebuild the folder tree from member names to apply the same twin-folder rule as on disk.
    children = defaultdict(set)
    first_image = {}  # "folder/" -> the first image member below it
    for info in infos:
        *folders, _ = info.filename.split("/")
        for depth, name in enumerate(folders):
            children["/".join(folders[:depth])].add(name)
            if is_image_file(info.filename):
                first_image.setdefault("/".join(folders[: depth + 1]) + "/", info.filename)
    skipped_prefixes = set()
    for parent, names in children.items():
        prefix = f"{parent}/" if parent else ""
        first = {name: first_image.get(f"{prefix}{name}/") for name in names}
        skipped = _twin_folders_to_skip(sorted(names),
                                        lambda name, first=first: first[name] and _read_member(archive, first[name]))
        skipped_prefixes |= {f"{prefix}{name}/" for name in skipped}
    for info in infos:
        name = info.filename
        folders = name.split("/")[:-1]
        if any(part.startswith(".") or part == "__MACOSX" for part in folders):
            skip = HIDDEN_FOLDER  # macOS resource forks and hidden files are not photos
        elif any("/".join(folders[:depth]) + "/" in skipped_prefixes for depth in range(1, len(folders) + 1)):
            skip = GRAY_TWIN
        elif info.file_size > MAX_MEMBER_BYTES:
            skip = f"too large: {info.file_size:,} bytes inside the archive, above the limit of {MAX_MEMBER_BYTES:,}"
        else:
            skip = skip_reason(name)
        yield Item(f"{path}!{name}", str(path), name, f"{info.CRC}:{info.file_size}", skip)


def _twin_folders_to_skip(names, first_image):
    """Names of sibling folders that only hold gray twins of another folder's color photos.

    ``first_image(name)`` returns a path or bytes of one image under that folder (or None).
    """
    lower = {name.lower(): name for name in names}
    skipped = set()
    if any(name in COLOR_NAMES for name in lower):
        skipped |= {original for name, original in lower.items() if name in GRAY_NAMES}
    for name, original in lower.items():
        if name.endswith("_x") and f"{name[:-2]}_y" in lower:
            partner = lower[f"{name[:-2]}_y"]
            x_color, y_color = _looks_colored(first_image(original)), _looks_colored(first_image(partner))
            # Image-to-image convention: x is the input (gray), y the target (color), unless the photos say otherwise.
            skipped.add(partner if x_color and not y_color else original)
    return skipped


def _first_image_in_folder(folder: Path):
    return next(iter(find_images(folder)), None)


def _looks_colored(source) -> bool:
    from colorgan.data.process import has_color  # skimage and cv2 are already loaded by then

    if not source:
        return False
    try:
        return has_color(read_rgb(io.BytesIO(source) if isinstance(source, bytes) else source))
    except ImageError:
        return False
