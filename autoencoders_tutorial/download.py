"""The checked download: a temporary file, a sha256, a progress line, nothing left on failure.

It takes the target folder as an argument, never importing :mod:`.datasets` (which calls it): no cycle.
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
    with contextlib.suppress(ValueError):
        if math.isfinite(value := float(raw)) and value > 0:
            return value
    raise DataError(f"{name} must be a number > 0, got {raw!r}; fix or unset it")


def _one_line(exc: BaseException, got: int) -> str:
    """A short, one-line description of a network error, ``got`` bytes into the file."""
    if isinstance(exc, http.client.IncompleteRead):
        text = f"the transfer was cut off after {got} bytes; try again"
    elif isinstance(exc, http.client.RemoteDisconnected):
        text = "the server closed the connection without a response"
    elif isinstance(exc, ConnectionResetError):
        text = f"the connection was reset after {got} bytes; try again"
    else:  # a URLError by its reason; an HTTPError (a URLError too) by its status
        url_error = isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError)
        text = str(exc.reason if url_error else exc)
    return " ".join(text.split()) or type(exc).__name__


class _Watchdog:
    """Shuts the connection's socket at the deadline, whatever ``urllib`` is blocked in: the limits are checked
    between reads of the body, but a server can trickle the status line, headers or a chunk-size line, each
    byte inside the read timeout; this ends those too (the read fails, and the deadline is named)."""

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

        def watched(base):  # a connection class whose socket the watchdog may shut
            class Connection(base):
                def connect(self):
                    super().connect()
                    watch.sockets.append(self.sock)
            return Connection

        HTTP, HTTPS = watched(http.client.HTTPConnection), watched(http.client.HTTPSConnection)

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


class _Limits:
    """A download's limits (see :func:`download`) and the bytes that arrived: which limit a read waits on
    (:meth:`wait`), and the one-line error of a broken one."""

    def __init__(self, url, dest, timeout, deadline, min_rate, rate_window):
        deadline = _env_number(DEADLINE_ENV, DEFAULT_DEADLINE) if deadline is None else deadline
        min_rate = _env_number(MIN_RATE_ENV, DEFAULT_MIN_RATE) if min_rate is None else min_rate
        for name, value in (("timeout", timeout), ("deadline", deadline), ("rate_window", rate_window)):
            if not value > 0:
                raise DataError(f"download {name} must be > 0 seconds, got {value}")
        if not min_rate >= 0:
            raise DataError(f"download min_rate must be >= 0 bytes/s, got {min_rate}")
        self.url, self.timeout, self.deadline = url, timeout, deadline
        self.min_rate, self.window = min_rate, rate_window
        self.hint = f"try again or put the files in {Path(dest).parent} by hand"
        t0 = time.monotonic()
        self.deadline_at = t0 + deadline
        self.need = min_rate * rate_window  # bytes that must arrive in every window
        # (time, bytes so far) at most every rate_window / 64 s: the bytes at any earlier moment.
        self.samples = collections.deque([(t0, 0)])
        self.last_chunk = (t0, 0)
        self.got = 0
        self.why = "timeout"  # which limit the current socket timeout stands for

    def _prune(self, now):
        while len(self.samples) >= 2 and self.samples[1][0] <= now - self.window:
            self.samples.popleft()

    def too_slow(self, now) -> DataError:
        self._prune(now)
        return DataError(f"download of {self.url} too slow: {self.got - self.samples[0][1]} bytes in the last "
                         f"{self.window:g} s (minimum {self.min_rate:g} B/s, {MIN_RATE_ENV}); {self.hint}")

    def over_deadline(self) -> DataError:
        return DataError(f"download of {self.url} exceeded its deadline of {self.deadline:g} s ({DEADLINE_ENV}) "
                         f"at {self.got} bytes; {self.hint}")

    def wait(self) -> float:
        """Raise if a limit is broken now, else the seconds a read may wait (``why`` says for which limit)."""
        now = time.monotonic()
        if now >= self.deadline_at:
            raise self.over_deadline()
        bounds = [(self.timeout, "timeout"), (self.deadline_at - now, "deadline")]
        if self.need > 0:
            self._prune(now)
            # Too slow from when the window no longer reaches back to the first sample that
            # holds more than got - need bytes (if nothing more arrives before then).
            fail_at = next(t for t, n in (*self.samples, self.last_chunk) if n > self.got - self.need) + self.window
            if now >= fail_at:
                raise self.too_slow(now)
            bounds.append((fail_at - now, "rate"))
        seconds, self.why = min(bounds)
        return seconds

    def arrived(self, n) -> float:
        """Count ``n`` bytes that arrived; the time now."""
        self.got += n
        now = time.monotonic()
        self.last_chunk = (now, self.got)
        if now - self.samples[-1][0] >= self.window / 64:
            self.samples.append(self.last_chunk)
        return now

    def error(self, exc: Exception, watchdog_fired: bool) -> DataError | None:
        """The one-line error of a failed transfer, or None for one to raise as it is."""
        if watchdog_fired:
            return self.over_deadline()  # the watchdog shut the socket at the deadline
        if isinstance(exc, DataError):
            return exc
        timed_out = isinstance(exc, TimeoutError) or (
            isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, TimeoutError))
        if timed_out:
            return {"deadline": self.over_deadline, "rate": lambda: self.too_slow(time.monotonic())}.get(
                self.why, lambda: DataError(f"could not download {self.url}: no data for {self.timeout:g} s; "
                                            f"{self.hint}"))()
        if isinstance(exc, (urllib.error.URLError, http.client.HTTPException, OSError, ValueError)):
            if isinstance(exc, urllib.error.HTTPError):
                exc.close()
            return DataError(f"could not download {self.url}: {_one_line(exc, self.got)}")
        return None


def _receive(resp, out, h, limits: _Limits, sock, name, progress) -> None:
    """Copy the body of ``resp`` to ``out`` and ``h`` within ``limits``, its progress line ended on an error."""
    total = int(resp.headers.get("Content-Length") or 0)
    read = getattr(resp, "read1", None) or resp.read  # read1: what has arrived, up to 64 KiB
    last, shown = 0.0, False
    try:
        while True:
            wait = limits.wait()
            if sock is not None:
                sock.settimeout(wait)
            chunk = read(1 << 16)
            if not chunk:
                break
            out.write(chunk)
            h.update(chunk)
            now = limits.arrived(len(chunk))
            if progress and now - last > 0.5:
                last = now
                pct = f" {100 * limits.got / total:5.1f}%" if total else ""
                print(f"\r  {name}: {limits.got / 1e6:.1f} MB{pct}", end="", file=sys.stderr, flush=True)
                shown = True
        if total and limits.got != total:
            raise DataError(f"download of {limits.url} was cut off at {limits.got} of {total} bytes; try again")
    except BaseException:
        if shown:
            print(file=sys.stderr)  # end the progress line before the error
        raise


def download(url: str, dest, sha256: str, timeout=60.0, progress=True, *, deadline=None, min_rate=None,
             rate_window=30.0) -> Path:
    """Download ``url`` to ``dest``, checking its sha256.

    The bytes go to a temporary ``.{dest.name}.{pid}.{n}.part`` beside ``dest``, renamed only once complete
    and verified; on any failure (network, cut-off transfer, wrong checksum, too slow, Ctrl-C) it is removed,
    and every failure but Ctrl-C is a one-line :class:`DataError`. Parts left by a dead process (``kill -9``)
    are removed when the next download of ``dest`` starts. Limits, each a one-line error when broken:

    * ``timeout`` (60 s): the longest one connect or read may wait for data.
    * ``deadline``: seconds for the whole file (no read blocks past it); default
      ``$AUTOENCODERS_DOWNLOAD_TIMEOUT``, else 600 s.
    * ``min_rate``: bytes/second averaged over the last ``rate_window`` (30) seconds, checked from
      ``rate_window`` seconds after the start; default ``$AUTOENCODERS_DOWNLOAD_MIN_RATE``, else 10000 B/s;
      0 turns it off.

    A bad value of either variable (not a number, or <= 0) is a :class:`DataError`.
    """
    dest = Path(dest)
    limits = _Limits(url, dest, timeout, deadline, min_rate, rate_window)
    part = contextlib.ExitStack()  # the part file: removed on any error when the stack closes
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(dest.parent, dest.name)
        out, tmp = part.enter_context(open_part(dest))
    except OSError as exc:
        raise DataError(f"cannot write to {dest.parent} ({exc.strerror or exc}); set data_dir or "
                        "AUTOENCODERS_DATA to a writable folder") from None
    h, watch = hashlib.sha256(), None
    with part:
        try:
            wait = limits.wait()
            with _Watchdog(limits.deadline_at - time.monotonic()) as watch, \
                    watch.opener().open(url, timeout=wait) as resp:
                sock = watch.sockets[-1] if watch.sockets else None  # the connection this response came on
                _receive(resp, out, h, limits, sock, dest.name, progress)
            if progress:
                print(f"\r  {dest.name}: {limits.got / 1e6:.1f} MB done", file=sys.stderr)
            out.close()
            if h.hexdigest() != sha256:
                raise DataError(f"{url} has sha256 {h.hexdigest()[:12]}..., expected {sha256[:12]}...; not saved")
            os.replace(tmp, dest)
        except Exception as exc:
            error = limits.error(exc, watch is not None and watch.fired)
            if error is None or error is exc:
                raise
            raise error from None
    return dest


def fetch_mnist(directory, base_url=None, progress=True, *, deadline=None, min_rate=None) -> Path:
    """Ensure the four MNIST IDX files are in ``directory``, downloading the missing ones.

    ``base_url`` defaults to ``$AUTOENCODERS_MNIST_URL``, else :data:`MNIST_URL`; ``deadline`` (seconds per
    file) and ``min_rate`` go to :func:`download`, which says their defaults.
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
