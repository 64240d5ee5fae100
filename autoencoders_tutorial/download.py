"""The checked download: a temporary file, a sha256, a progress line, nothing left on failure.

It takes the target folder as an argument and never imports :mod:`.datasets` (which
calls it), so the two cannot form an import cycle.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from .errors import DataError
from .files import _UMASK

#: Public mirror of the MNIST IDX files (the one torchvision uses), and their sha256.
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}


def download(url: str, dest, sha256: str, timeout=60.0, progress=True) -> Path:
    """Download ``url`` to ``dest``, checking its sha256.

    The bytes go to a temporary file beside ``dest`` that is renamed only once complete
    and verified; on any failure (network, cut-off transfer, wrong checksum) nothing is
    left behind and a :class:`DataError` says what happened.
    """
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix="." + dest.name + ".", suffix=".part")
    except OSError as exc:
        raise DataError(f"cannot write to {dest.parent} ({exc.strerror or exc}); set data_dir or "
                        "AUTOENCODERS_DATA to a writable folder") from None
    h = hashlib.sha256()
    got = 0
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            total = int(resp.headers.get("Content-Length") or 0)
            last = 0.0
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                h.update(chunk)
                got += len(chunk)
                now = time.monotonic()
                if progress and now - last > 0.5:
                    last = now
                    pct = f" {100 * got / total:5.1f}%" if total else ""
                    print(f"\r  {dest.name}: {got / 1e6:.1f} MB{pct}", end="", file=sys.stderr, flush=True)
            if total and got != total:
                raise DataError(f"download of {url} was cut off at {got} of {total} bytes; try again")
        if progress:
            print(f"\r  {dest.name}: {got / 1e6:.1f} MB done", file=sys.stderr)
        os.chmod(tmp, 0o666 & ~_UMASK)
        if h.hexdigest() != sha256:
            raise DataError(f"{url} has sha256 {h.hexdigest()[:12]}..., expected {sha256[:12]}...; not saved")
        os.replace(tmp, dest)
    except DataError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        reason = getattr(exc, "reason", None) or exc
        raise DataError(f"could not download {url}: {reason}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return dest


def fetch_mnist(directory, base_url=None, progress=True) -> Path:
    """Ensure the four MNIST IDX files are in ``directory``, downloading the missing ones.

    ``base_url`` defaults to ``$AUTOENCODERS_MNIST_URL``, else :data:`MNIST_URL`.
    """
    directory = Path(directory)
    base_url = base_url or os.environ.get("AUTOENCODERS_MNIST_URL", MNIST_URL)
    for fname, digest in MNIST_FILES.items():
        if not (directory / fname).is_file():
            download(base_url.rstrip("/") + "/" + fname, directory / fname, digest, progress=progress)
    return directory
