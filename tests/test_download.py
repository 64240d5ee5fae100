"""download: the checked download, against local HTTP servers on 127.0.0.1.

Besides the normal cases: a trickling server (the minimum rate), a slow one (the
deadline), a silent one (no read blocks past a limit), cut-off chunked transfers, a reset
connection, bad URLs and environment values, Ctrl-C, and the part files of dead writers.
Every failure must be a one-line DataError that leaves no ``.part`` file.
"""

import hashlib
import http.client
import http.server
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autoencoders_tutorial import download

BODY = b"x" * 200_000
DIGEST = hashlib.sha256(BODY).hexdigest()
FAST = {"progress": False, "rate_window": 1.0, "min_rate": 1000, "deadline": 10}


def parts(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith(".part"))


def fails(match, url, dest, **kw):
    """Run a download that must fail: the DataError is one line, and no part file is left."""
    t = time.monotonic()
    with pytest.raises(download.DataError, match=match) as info:
        download.download(url, dest, DIGEST, **{**FAST, **kw})
    assert "\n" not in str(info.value)
    assert not parts(Path(dest).parent), "a failed download leaves no .part"
    assert not Path(dest).exists()
    return time.monotonic() - t, str(info.value)


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    """Misbehaving answers, chosen by the path's last part; writing stops once ``stop`` is set."""

    protocol_version = "HTTP/1.1"
    timeout = 5  # reading the request never hangs a thread
    stop = threading.Event()

    def _head(self, chunked=False):
        self.send_response(200)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(BODY)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()

    def _drip(self, size, every):
        """Send BODY ``size`` bytes every ``every`` seconds until done, stopped, or the client leaves."""
        self._head()
        for i in range(0, len(BODY), size):
            if self.stop.wait(every):
                return
            self.wfile.write(BODY[i:i + size])
            self.wfile.flush()

    def do_GET(self):
        self.close_connection = True
        mode = self.path.rsplit("/", 1)[-1]
        try:
            if mode == "trickle":  # one byte every 0.3 s: 3 B/s
                self._drip(1, 0.3)
            elif mode == "slow":  # 4 KiB every 0.05 s: ~80 kB/s, above a 1000 B/s minimum
                self._drip(4096, 0.05)
            elif mode == "silent_body":  # headers, then nothing
                self._head()
                self.stop.wait(10)
            elif mode == "silent_headers":  # not even a status line
                self.stop.wait(10)
            elif mode == "chunk_cut_mid":  # a chunk announced at 4096 bytes, cut at 100
                self._head(chunked=True)
                self.wfile.write(b"1000\r\n" + BODY[:100])
            elif mode == "chunk_cut_size":  # whole chunks, but no last (0-size) chunk
                self._head(chunked=True)
                self.wfile.write(b"100\r\n" + BODY[:256] + b"\r\n")
            elif mode == "reset":  # half the body, then a TCP reset
                self._head()
                self.wfile.write(BODY[:1000])
                self.wfile.flush()
                time.sleep(0.1)  # the client has read it, and waits on the rest
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.rfile.close()  # the last reference but the socket's own: its close sends the RST
                self.connection.close()
            elif mode == "nothing":  # closes without an answer
                pass
            elif mode == "good":
                self._head()
                self.wfile.write(BODY)
            else:
                self.send_error(404)
        except OSError:  # the client went away
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_server():
    """A local server of misbehaving answers: its base URL."""
    _SlowHandler.stop.clear()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    _SlowHandler.stop.set()
    httpd.shutdown()
    httpd.server_close()


def test_download_good_bad_checksum_and_cut_off(tmp_path, server):
    base, handler = server
    body = b"x" * 200_000
    handler.files = {"good": body, "cut": body}
    handler.cut = {"cut"}
    digest = hashlib.sha256(body).hexdigest()
    out = download.download(base + "good", tmp_path / "good", digest, progress=False)
    assert out.read_bytes() == body
    with pytest.raises(download.DataError, match="sha256"):
        download.download(base + "good", tmp_path / "bad", "0" * 64, progress=False)
    with pytest.raises(download.DataError, match="cut off|could not download"):
        download.download(base + "cut", tmp_path / "cut", digest, progress=False)
    with pytest.raises(download.DataError, match="could not download"):
        download.download(base + "missing", tmp_path / "missing", digest, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good"], "failed downloads leave nothing behind"


def test_trickle_is_too_slow_after_the_window(tmp_path, slow_server):
    took, msg = fails(r"too slow: \d bytes in the last 1 s \(minimum 1000 B/s, AUTOENCODERS_DOWNLOAD_MIN_RATE\); "
                      "try again or put the files in .* by hand", slow_server + "trickle", tmp_path / "f")
    assert 0.9 < took < 3, took
    assert str(tmp_path) in msg


@pytest.mark.parametrize("mode", ["silent_body", "silent_headers"])
def test_silent_server_is_too_slow_without_waiting_for_the_read_timeout(tmp_path, slow_server, mode):
    took, _ = fails(r"too slow: 0 bytes in the last 1 s", slow_server + mode, tmp_path / "f", timeout=60)
    assert 0.9 < took < 3, took


def test_deadline_of_a_slow_but_steady_server(tmp_path, slow_server):
    took, _ = fails(r"exceeded its deadline of 0\.5 s \(AUTOENCODERS_DOWNLOAD_TIMEOUT\) at \d+ bytes; try again",
                    slow_server + "slow", tmp_path / "f", deadline=0.5)
    assert 0.4 < took < 1.5, took


def test_no_read_blocks_past_the_deadline_or_the_read_timeout(tmp_path, slow_server):
    took, _ = fails(r"exceeded its deadline of 0\.5 s", slow_server + "silent_body", tmp_path / "f",
                    deadline=0.5, min_rate=0, timeout=60)
    assert took < 1.5, took
    took, _ = fails(r"could not download .*: no data for 0\.3 s", slow_server + "silent_body", tmp_path / "f",
                    deadline=10, min_rate=0, timeout=0.3)
    assert took < 1.5, took


@pytest.mark.parametrize("mode, match", [
    ("chunk_cut_mid", "cut off after 100 bytes"),
    ("chunk_cut_size", "cut off after 256 bytes"),
    ("reset", "could not download .*: the connection was reset after 1000 bytes"),
    ("nothing", "closed the connection without a response"),
    ("missing", r"HTTP Error 404"),
])
def test_broken_transfers_are_one_line(tmp_path, slow_server, mode, match):
    fails(match, slow_server + mode, tmp_path / "f")


@pytest.mark.parametrize("url", ["not a url", "ftp2://x/y", "http://127.0.0.1:99999/f", "http://127.0.0.1:9/f"])
def test_bad_urls_are_one_line(tmp_path, url):
    fails("could not download", url, tmp_path / "f")


@pytest.mark.parametrize("var", ["AUTOENCODERS_DOWNLOAD_TIMEOUT", "AUTOENCODERS_DOWNLOAD_MIN_RATE"])
@pytest.mark.parametrize("value", ["abc", "0", "-5", "nan", "inf", "1e999"])
def test_bad_environment_values(tmp_path, monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    with pytest.raises(download.DataError, match=f"{var} must be a number > 0, got '{value}'"):
        download.download("http://127.0.0.1:9/f", tmp_path / "f", DIGEST, progress=False)
    assert not list(tmp_path.iterdir())


def test_environment_defaults(tmp_path, slow_server, monkeypatch):
    monkeypatch.setenv("AUTOENCODERS_DOWNLOAD_TIMEOUT", " 0.5 ")
    monkeypatch.setenv("AUTOENCODERS_DOWNLOAD_MIN_RATE", "1e9")  # a window of 1 s: too slow at 1 s
    took, _ = fails(r"deadline of 0\.5 s", slow_server + "slow", tmp_path / "f", deadline=None, min_rate=None)
    assert took < 1.5
    monkeypatch.setenv("AUTOENCODERS_DOWNLOAD_TIMEOUT", "30")
    took, _ = fails(r"too slow: \d+ bytes in the last 1 s \(minimum 1e\+09 B/s", slow_server + "slow",
                    tmp_path / "f", deadline=None, min_rate=None)
    assert 0.9 < took < 2.5
    monkeypatch.setenv("AUTOENCODERS_DOWNLOAD_MIN_RATE", "")  # empty: the default
    assert download.download(slow_server + "good", tmp_path / "f", DIGEST, progress=False).read_bytes() == BODY


def test_fetch_mnist_passes_the_limits(tmp_path, slow_server, monkeypatch):
    monkeypatch.setattr(download, "MNIST_FILES", {"silent_body": DIGEST})
    with pytest.raises(download.DataError, match=r"deadline of 0\.3 s"):
        download.fetch_mnist(tmp_path, base_url=slow_server, progress=False, deadline=0.3, min_rate=0)
    assert not list(tmp_path.iterdir())


def test_keyboard_interrupt_removes_the_part_file(tmp_path, slow_server, monkeypatch):
    seen = []

    def interrupted(self, n=-1):
        seen.append(parts(tmp_path))
        raise KeyboardInterrupt

    monkeypatch.setattr(http.client.HTTPResponse, "read1", interrupted)
    with pytest.raises(KeyboardInterrupt):
        download.download(slow_server + "good", tmp_path / "f", DIGEST, progress=False)
    assert seen and seen[0] == [f".f.{os.getpid()}.{seen[0][0].split('.')[-2]}.part"], seen
    assert not list(tmp_path.iterdir())


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_part_files_removed_live_ones_kept(tmp_path, server):
    base, handler = server
    handler.files = {"f": BODY}
    live = [f".f.{os.getppid()}.abcdefgh.part", ".f.1.abcdefgh.part"]  # the parent, init: alive
    stale = [f".f.{_dead_pid()}.abcdefgh.part",  # a dead PID
             f".f.{os.getpid()}.zzzzzzzz.part"]  # this process's PID, but not a file it is writing
    others = [".f.gz.1.abcdefgh.part", ".g.12.abcdefgh.part", "f.12.abcdefgh.part", ".f.12.a-b.part",
              ".f.abcd_123.part", ".f.notes.part"]  # not ours (no PID): never removed
    for name in live + stale + others:
        (tmp_path / name).write_bytes(b"partial")
    download.download(base + "f", tmp_path / "f", DIGEST, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(live + others + ["f"])


def test_part_file_of_a_killed_process_is_removed_by_the_next_run(tmp_path, slow_server):
    """``kill -9`` mid-download leaves a part file; the next download of the file removes it."""
    code = ("import sys; from autoencoders_tutorial import download; "
            "download.download(sys.argv[1], sys.argv[2], '0' * 64, progress=False, min_rate=0, deadline=30)")
    env = dict(os.environ, PYTHONPATH=str(Path(download.__file__).resolve().parents[1]))
    proc = subprocess.Popen([sys.executable, "-c", code, slow_server + "slow", str(tmp_path / "f")], env=env)
    try:
        for _ in range(200):
            if parts(tmp_path) and (tmp_path / parts(tmp_path)[0]).stat().st_size > 0:
                break
            time.sleep(0.05)
        left = parts(tmp_path)
        assert left and left[0].startswith(f".f.{proc.pid}."), left
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert parts(tmp_path) == left, "kill -9 leaves the part file"
    download.download(slow_server + "good", tmp_path / "f", DIGEST, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_trickled_headers_meet_the_deadline(tmp_path):
    """A server that sends its status line, then one header byte every 0.2 s: the deadline still ends it."""
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    stop = threading.Event()

    def serve():
        conn, _ = srv.accept()
        with conn:
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not stop.is_set():
                try:
                    conn.sendall(b"X")
                except OSError:
                    return
                time.sleep(0.2)

    threading.Thread(target=serve, daemon=True).start()
    try:
        took, _ = fails(r"exceeded its deadline of 1 s \(AUTOENCODERS_DOWNLOAD_TIMEOUT\)",
                        f"http://127.0.0.1:{srv.getsockname()[1]}/f", tmp_path / "f", deadline=1.0, min_rate=0)
        assert took < 5
    finally:
        stop.set()
        srv.close()


def test_a_failed_first_download_leaves_no_empty_folder(tmp_path, server):
    base, handler = server  # serves nothing: every file is a 404
    target = tmp_path / "data" / "mnist"
    with pytest.raises(download.DataError, match="HTTP Error 404"):
        download.fetch_mnist(target, base_url=base, progress=False)
    assert not (tmp_path / "data").exists() and list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()  # a folder that was there before stays, empty or not
    with pytest.raises(download.DataError):
        download.fetch_mnist(tmp_path / "kept", base_url=base, progress=False)
    assert (tmp_path / "kept").is_dir()
