"""Memory available, and the one-line refusal, before allocating, of what cannot fit (standard library only)."""

from __future__ import annotations

import math
import os

from .errors import TutorialError


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``), or None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


def check_params_fit(shapes, itemsize: int, what: str) -> None:
    """Refuse, before drawing anything, parameters that with their training copies exceed the memory available:
    training holds each about three times (value, gradient, updated value); the largest draw is float64 first."""
    sizes = [math.prod(int(d) for d in s) for s in shapes]
    need = 3 * sum(sizes) * int(itemsize) + 8 * max(sizes, default=0)
    have = available_memory()
    if have is not None and need > have:
        raise TutorialError(f"{what} has {sum(sizes):,} parameters: training needs about {_size(need)}, this machine "
                            f"has {_size(have)} available; use smaller layers")


def check_fits(shape, itemsize: int, what: str, fix: str = "use smaller layers or fewer rows") -> None:
    """Refuse in one line, before allocating, an array of ``shape`` larger than the memory available.

    >>> check_fits((784, 10**12), 4, "dA.W")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    autoencoders_tutorial.errors.TutorialError: dA.W of shape (784, 1000000000000) needs 3.14 PB...
    """
    need = math.prod(int(s) for s in shape) * int(itemsize)
    have = available_memory()
    if have is not None and need > have:
        raise TutorialError(f"{what} of shape {tuple(int(s) for s in shape)} needs {_size(need)}, this machine has "
                            f"{_size(have)} available; {fix}")
