"""Downloads end: a server that stalls or sends for ever is cut off, and no partial file is ever left."""

import http.server
import socket
import threading

import pytest

from colorgan.data import download


@pytest.fixture
def stalling_url():
    """A server that accepts the connection (the kernel's backlog) and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{server.getsockname()[1]}/photos.zip"
    server.close()


class _Forever(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the http.server API)
        self.send_response(200)
        self.end_headers()
        try:
            while True:
                self.wfile.write(b"\0" * 65536)
        except OSError:
            pass  # the client hung up

    def log_message(self, *args):
        pass


@pytest.fixture
def endless_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Forever)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/model.keras"
    server.shutdown()
    server.server_close()


def _in_thread(function, *args, **kwargs):
    """Run ``function``; -> (finished, the exception it raised). A hang is reported, not waited for."""
    outcome = {}

    def target():
        try:
            function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 (the test inspects it)
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(120)  # a bound, far above what it takes (about the 1-second timeout below)
    return not thread.is_alive(), outcome.get("error")


def test_a_server_that_never_answers_is_given_up_on(stalling_url, tmp_path):
    finished, error = _in_thread(download.download, stalling_url, cache_dir=tmp_path, timeout=1)
    assert finished, "the download hung on a server that never answers"
    assert isinstance(error, ValueError) and f"could not download {stalling_url}" in str(error)
    assert list(tmp_path.iterdir()) == []


def test_a_server_that_sends_for_ever_is_cut_off_at_the_size_limit(endless_url, tmp_path):
    finished, error = _in_thread(download.download, endless_url, cache_dir=tmp_path, timeout=5, max_bytes=1 << 20)
    assert finished, "the download hung on a server that sends for ever"
    assert isinstance(error, ValueError) and "more than 1,048,576 bytes" in str(error)
    assert list(tmp_path.iterdir()) == []  # no partial file


def test_an_interrupted_download_leaves_no_partial_file(tmp_path, monkeypatch):
    source = tmp_path / "photos.zip"
    source.write_bytes(b"x" * (3 << 20))
    real_open = download.urllib.request.urlopen

    def interrupted_after_a_block(url, timeout):
        response = real_open(url, timeout=timeout)
        read = response.read
        calls = iter(range(1_000))

        def read_then_interrupt(size):
            if next(calls) == 1:
                raise KeyboardInterrupt  # Ctrl-C in the middle of the transfer
            return read(size)

        response.read = read_then_interrupt
        return response

    monkeypatch.setattr(download.urllib.request, "urlopen", interrupted_after_a_block)
    with pytest.raises(KeyboardInterrupt):
        download.download(source.as_uri(), cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_the_cache_is_the_users_cache_folder(monkeypatch, tmp_path, user_cache):
    url = "https://example.org/set/photos.zip"
    assert download.cache_path(url).parent == user_cache / "downloads"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert download.cache_path(url).parent == tmp_path / ".cache" / "colorgan" / "downloads"
