"""Download a dataset archive once: checksum verified, cached under data/cache."""

import hashlib
import os
import shutil
import urllib.parse
import urllib.request
from pathlib import Path

from colorgan.paths import DATA_DIR

CACHE_DIR = DATA_DIR / "cache"
URL_SCHEMES = ("http://", "https://", "file://")


def is_url(source) -> bool:
    return isinstance(source, str) and source.lower().startswith(URL_SCHEMES)


def split_checksum(url: str):
    """'https://host/set.zip#sha256=<hex>' -> ('https://host/set.zip', '<hex>'); no fragment -> (url, None)."""
    base, _, fragment = url.partition("#")
    if not fragment:
        return url, None
    name, _, value = fragment.partition("=")
    if name.lower() != "sha256" or len(value) != 64:
        raise ValueError(f"unsupported checksum {fragment!r} in {url}: write '#sha256=<64 hex digits>'")
    return base, value.lower()


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url, sha256=None, cache_dir=None) -> Path:
    """Fetch ``url`` into the cache (once) and return the local file.

    A file already in the cache is reused when its checksum matches (or when no checksum is
    given). A download whose sha256 differs from ``sha256`` is deleted and raises ValueError.
    """
    url, fragment_checksum = split_checksum(url)
    sha256 = (sha256 or fragment_checksum or "").lower() or None
    cache_dir = Path(cache_dir) if cache_dir is not None else CACHE_DIR
    name = Path(urllib.parse.urlparse(url).path).name or "download"
    # The URL's hash in the name: two datasets both called data.zip do not collide.
    target = cache_dir / f"{hashlib.sha256(url.encode()).hexdigest()[:12]}-{name}"
    if target.is_file() and (sha256 is None or file_sha256(target) == sha256):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".{os.getpid()}.part")
    try:
        with urllib.request.urlopen(url) as response, open(partial, "wb") as file:  # noqa: S310 (user's URL)
            shutil.copyfileobj(response, file, length=1 << 20)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise ValueError(f"could not download {url}: {error}") from None
    actual = file_sha256(partial)
    if sha256 is not None and actual != sha256:
        partial.unlink()
        raise ValueError(f"checksum mismatch for {url}: expected sha256 {sha256}, got {actual}")
    os.replace(partial, target)
    return target
