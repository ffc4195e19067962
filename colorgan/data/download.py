"""Download a dataset archive or a model once: bounded in time and size, checksum verified, cached.

The cache is the user's cache folder (``$XDG_CACHE_HOME/colorgan``, else ``~/.cache/colorgan``), never
the project. A download streams into a hidden partial file while its sha256 is computed; the partial
file is deleted on any failure or interruption (Ctrl-C included) and renamed into place only once the
whole file arrived with the right checksum, so the cache never holds half a file.
"""

import hashlib
import os
import urllib.parse
import urllib.request
from pathlib import Path

URL_SCHEMES = ("http://", "https://", "file://")
# A socket timeout bounds the connection and every read: a server that stops answering fails in
# TIMEOUT seconds instead of hanging for ever.
TIMEOUT = 30
# Far above any photo archive or generator colorgan reads, far below a full disk; a server that
# sends for ever stops here.
MAX_BYTES = 8 << 30
_BLOCK = 1 << 20


def cache_home() -> Path:
    """The user's colorgan cache folder (XDG base directories)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "colorgan"


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
        for block in iter(lambda: file.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_path(url, cache_dir=None) -> Path:
    """Where ``url`` (checksum fragment or not) is kept in the cache."""
    url, _ = split_checksum(url)
    cache_dir = Path(cache_dir) if cache_dir is not None else cache_home() / "downloads"
    name = Path(urllib.parse.urlparse(url).path).name or "download"
    # The URL's hash in the name: two datasets both called data.zip do not collide.
    return cache_dir / f"{hashlib.sha256(url.encode()).hexdigest()[:12]}-{name}"


def is_cached(url, sha256=None, cache_dir=None) -> bool:
    """True when ``download`` would reuse the cached file instead of fetching ``url``."""
    url, fragment_checksum = split_checksum(url)
    sha256 = (sha256 or fragment_checksum or "").lower() or None
    target = cache_path(url, cache_dir)
    return target.is_file() and (sha256 is None or file_sha256(target) == sha256)


def download(url, sha256=None, cache_dir=None, timeout=TIMEOUT, max_bytes=MAX_BYTES) -> Path:
    """Fetch ``url`` into the cache (once) and return the local file.

    A file already in the cache is reused when its checksum matches (or when no checksum is given).

    Raises:
        ValueError: naming the URL, when the server cannot be reached, stalls for ``timeout`` seconds,
            sends more than ``max_bytes``, or sends a file whose sha256 differs from ``sha256``; no
            file is left behind.
    """
    url, fragment_checksum = split_checksum(url)
    sha256 = (sha256 or fragment_checksum or "").lower() or None
    target = cache_path(url, cache_dir)
    if is_cached(url, sha256, cache_dir):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    digest, received = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as file:  # noqa: S310
            announced = response.headers.get("Content-Length") if hasattr(response, "headers") else None
            if announced and announced.isdigit() and int(announced) > max_bytes:
                raise ValueError(f"could not download {url}: it is {int(announced):,} bytes, above the limit "
                                 f"of {max_bytes:,}")
            for block in iter(lambda: response.read(_BLOCK), b""):
                received += len(block)
                if received > max_bytes:
                    raise ValueError(f"could not download {url}: more than {max_bytes:,} bytes, the limit")
                digest.update(block)
                file.write(block)
        actual = digest.hexdigest()
        if sha256 is not None and actual != sha256:
            raise ValueError(f"checksum mismatch for {url}: expected sha256 {sha256}, got {actual}")
        os.replace(partial, target)
    except OSError as error:  # unreachable, refused, timed out (socket timeouts are OSErrors), disk full
        raise ValueError(f"could not download {url}: {error}") from None
    finally:  # any failure or interruption, Ctrl-C included: no partial file stays in the cache
        partial.unlink(missing_ok=True)
    return target
