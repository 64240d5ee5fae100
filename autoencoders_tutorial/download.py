"""The checked download: a temporary file, a sha256, a progress line, nothing left on failure.

It takes the target folder as an argument and never imports :mod:`.datasets` (which
calls it), so the two cannot form an import cycle.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import http.client
import math
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from .errors import DataError
from .files import open_part, remove_stale_parts

#: Public mirror of the MNIST IDX files (the one torchvision uses), and their sha256.
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

#: The environment variables of the whole-file deadline (seconds) and the minimum rate (bytes/s).
DEADLINE_ENV = "AUTOENCODERS_DOWNLOAD_TIMEOUT"
MIN_RATE_ENV = "AUTOENCODERS_DOWNLOAD_MIN_RATE"
DEFAULT_DEADLINE = 600.0
DEFAULT_MIN_RATE = 10_000.0

def _env_number(name: str, default: float) -> float:
    """``$name`` as a number > 0, else ``default``; a bad value is a one-line :class:`DataError`."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise DataError(f"{name} must be a number > 0, got {raw!r}; fix or unset it")
    return value


def _one_line(exc: BaseException, got: int) -> str:
    """A short, one-line description of a network error, ``got`` bytes into the file."""
    if isinstance(exc, urllib.error.HTTPError):
        text = str(exc)
    elif isinstance(exc, http.client.IncompleteRead):
        text = f"the transfer was cut off after {got} bytes; try again"
    elif isinstance(exc, http.client.RemoteDisconnected):
        text = "the server closed the connection without a response"
    elif isinstance(exc, ConnectionResetError):
        text = f"the connection was reset after {got} bytes; try again"
    elif isinstance(exc, urllib.error.URLError):
        text = str(exc.reason)
    else:
        text = str(exc)
    text = " ".join(text.split())
    return text or type(exc).__name__


class _Watchdog:
    """Shuts the connection's socket at the deadline, whatever ``urllib`` is blocked in.

    The limits are checked between reads of the body, but a server can also trickle the
    status line, the headers or a chunk-size line, each byte inside the read timeout;
    this timer ends those too (the read then fails, and the deadline is named).
    """

    def __init__(self, seconds):
        self.sockets, self.fired = [], False
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def _fire(self):
        self.fired = True
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def opener(self):
        watch = self

        class HTTP(http.client.HTTPConnection):
            def connect(self):
                super().connect()
                watch.sockets.append(self.sock)

        class HTTPS(http.client.HTTPSConnection):
            def connect(self):
                super().connect()
                watch.sockets.append(self.sock)

        class HTTPHandler(urllib.request.HTTPHandler):
            def http_open(self, req):
                return self.do_open(HTTP, req)

        class HTTPSHandler(urllib.request.HTTPSHandler):
            def https_open(self, req):
                return self.do_open(HTTPS, req, context=self._context)

        return urllib.request.build_opener(HTTPHandler, HTTPSHandler)

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()
        return False


def download(url: str, dest, sha256: str, timeout=60.0, progress=True, *, deadline=None, min_rate=None,
             rate_window=30.0) -> Path:
    """Download ``url`` to ``dest``, checking its sha256.

    The bytes go to a temporary file ``.{dest.name}.{pid}.XXXXXXXX.part`` beside ``dest``
    that is renamed only once complete and verified; on any failure (network, cut-off
    transfer, wrong checksum, too slow, Ctrl-C) it is removed, and every failure but
    Ctrl-C is a one-line :class:`DataError`. Part files left by a process that died
    (``kill -9``) are removed at the start of the next download of ``dest``.

    Limits (a download that breaks one stops with a one-line error):

    * ``timeout`` (60 s): the longest one connect or read may wait for data.
    * ``deadline``: the total seconds for the whole file; default
      ``$AUTOENCODERS_DOWNLOAD_TIMEOUT``, else 600 s. No read blocks past it.
    * ``min_rate``: bytes/second, averaged over the last ``rate_window`` (30) seconds,
      checked from ``rate_window`` seconds after the start; default
      ``$AUTOENCODERS_DOWNLOAD_MIN_RATE``, else 10000 B/s. ``min_rate=0`` turns it off.

    A bad value of either variable (not a number, or <= 0) is a :class:`DataError`.
    """
    dest = Path(dest)
    if deadline is None:
        deadline = _env_number(DEADLINE_ENV, DEFAULT_DEADLINE)
    if min_rate is None:
        min_rate = _env_number(MIN_RATE_ENV, DEFAULT_MIN_RATE)
    for name, value, low in (("timeout", timeout, 0), ("deadline", deadline, 0), ("rate_window", rate_window, 0)):
        if not value > low:
            raise DataError(f"download {name} must be > 0 seconds, got {value}")
    if not min_rate >= 0:
        raise DataError(f"download min_rate must be >= 0 bytes/s, got {min_rate}")
    hint = f"try again or put the files in {dest.parent} by hand"

    part = contextlib.ExitStack()  # the part file: removed on any error when the stack closes
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(dest.parent, dest.name)
        out, tmp = part.enter_context(open_part(dest))
    except OSError as exc:
        raise DataError(f"cannot write to {dest.parent} ({exc.strerror or exc}); set data_dir or "
                        "AUTOENCODERS_DATA to a writable folder") from None

    h = hashlib.sha256()
    got = 0
    shown = False
    t0 = time.monotonic()
    deadline_at = t0 + deadline
    need = min_rate * rate_window  # bytes that must arrive in every window
    # (time, bytes so far) at most every rate_window / 64 s: the bytes at any earlier moment.
    samples = collections.deque([(t0, 0)])
    last_chunk = (t0, 0)
    why = "timeout"  # which limit the current socket timeout stands for

    def prune(now):
        while len(samples) >= 2 and samples[1][0] <= now - rate_window:
            samples.popleft()

    def too_slow(now):
        prune(now)
        return DataError(f"download of {url} too slow: {got - samples[0][1]} bytes in the last {rate_window:g} s "
                         f"(minimum {min_rate:g} B/s, {MIN_RATE_ENV}); {hint}")

    def over_deadline():
        return DataError(f"download of {url} exceeded its deadline of {deadline:g} s ({DEADLINE_ENV}) "
                         f"at {got} bytes; {hint}")

    def limit(now):
        """Raise if a limit is broken at ``now``, else the seconds a read may wait, and why."""
        if now >= deadline_at:
            raise over_deadline()
        bounds = [(timeout, "timeout"), (deadline_at - now, "deadline")]
        if need > 0:
            prune(now)
            # Too slow from when the window no longer reaches back to the first sample that
            # holds more than got - need bytes (if nothing more arrives before then).
            fail_at = next(t for t, n in (*samples, last_chunk) if n > got - need) + rate_window
            if now >= fail_at:
                raise too_slow(now)
            bounds.append((fail_at - now, "rate"))
        return min(bounds)

    watch = None
    with part:
        try:
            wait, why = limit(time.monotonic())
            with _Watchdog(deadline_at - time.monotonic()) as watch, \
                    watch.opener().open(url, timeout=wait) as resp:
                total = int(resp.headers.get("Content-Length") or 0)
                read = getattr(resp, "read1", None) or resp.read  # read1: what has arrived, up to 64 KiB
                sock = getattr(getattr(getattr(resp, "fp", None), "raw", None), "_sock", None)
                last = 0.0
                while True:
                    wait, why = limit(time.monotonic())
                    if sock is not None:
                        sock.settimeout(wait)
                    chunk = read(1 << 16)
                    if not chunk:
                        break
                    out.write(chunk)
                    h.update(chunk)
                    got += len(chunk)
                    now = time.monotonic()
                    last_chunk = (now, got)
                    if now - samples[-1][0] >= rate_window / 64:
                        samples.append(last_chunk)
                    if progress and now - last > 0.5:
                        last = now
                        pct = f" {100 * got / total:5.1f}%" if total else ""
                        print(f"\r  {dest.name}: {got / 1e6:.1f} MB{pct}", end="", file=sys.stderr, flush=True)
                        shown = True
                if total and got != total:
                    raise DataError(f"download of {url} was cut off at {got} of {total} bytes; try again")
            if progress:
                print(f"\r  {dest.name}: {got / 1e6:.1f} MB done", file=sys.stderr)
                shown = False
            out.close()
            if h.hexdigest() != sha256:
                raise DataError(f"{url} has sha256 {h.hexdigest()[:12]}..., expected {sha256[:12]}...; not saved")
            os.replace(tmp, dest)
        except BaseException as exc:
            if shown:
                print(file=sys.stderr)  # end the progress line before the error
            if isinstance(exc, Exception) and watch is not None and watch.fired:
                raise over_deadline() from None  # the watchdog shut the socket at the deadline
            if isinstance(exc, DataError) or not isinstance(exc, Exception):
                raise  # ours, or KeyboardInterrupt / SystemExit: as they are
            timed_out = isinstance(exc, TimeoutError) or (
                isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, TimeoutError))
            if timed_out and why == "deadline":
                raise over_deadline() from None
            if timed_out and why == "rate":
                raise too_slow(time.monotonic()) from None
            if timed_out:
                raise DataError(f"could not download {url}: no data for {timeout:g} s; {hint}") from None
            if isinstance(exc, (urllib.error.URLError, http.client.HTTPException, OSError, ValueError)):
                if isinstance(exc, urllib.error.HTTPError):
                    exc.close()
                raise DataError(f"could not download {url}: {_one_line(exc, got)}") from None
            raise
    return dest


def fetch_mnist(directory, base_url=None, progress=True, *, deadline=None, min_rate=None) -> Path:
    """Ensure the four MNIST IDX files are in ``directory``, downloading the missing ones.

    ``base_url`` defaults to ``$AUTOENCODERS_MNIST_URL``, else :data:`MNIST_URL`.
    ``deadline`` (seconds per file) and ``min_rate`` (bytes/s over 30 s) go to
    :func:`download`: by default ``$AUTOENCODERS_DOWNLOAD_TIMEOUT``, else 600 s, and
    ``$AUTOENCODERS_DOWNLOAD_MIN_RATE``, else 10000 B/s.
    """
    directory = Path(directory)
    base_url = base_url or os.environ.get("AUTOENCODERS_MNIST_URL", MNIST_URL)
    made = [p for p in (directory, *directory.parents) if not p.exists()]  # the folders this call creates
    try:
        for fname, digest in MNIST_FILES.items():
            if not (directory / fname).is_file():
                download(base_url.rstrip("/") + "/" + fname, directory / fname, digest, progress=progress,
                         deadline=deadline, min_rate=min_rate)
    except BaseException:
        for folder in made:  # a failed first download leaves no empty folder behind (only empty ones go)
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return directory
