"""The error types a user can fix, and the value checks that raise them.

Each is a :class:`ValueError` whose message is one line naming the problem and what to do, which the command line
(:func:`autoencoders_tutorial.cli.run_cli`) prints as ``error: ...`` (status 2); nothing is re-wrapped on the way up.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


class TutorialError(ValueError):
    """A problem the user can fix; its message is one line naming the fix."""


class DataError(TutorialError):
    """A dataset or model file is missing, corrupt, or holds values the model cannot use."""


class TrainingDiverged(TutorialError):
    """The cost became NaN or infinite."""


def check_positive(**values) -> None:
    """Raise a one-line :class:`TutorialError` for any value that is not > 0.

    >>> check_positive(batch_size=20)
    >>> check_positive(batch_size=0)
    Traceback (most recent call last):
    ...
    autoencoders_tutorial.errors.TutorialError: batch_size must be > 0, got 0
    """
    for k, v in values.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
            raise TutorialError(f"{k} must be a number > 0, got {v!r} ({type(v).__name__})")
        if v is None or not (v > 0 and math.isfinite(v)):
            raise TutorialError(f"{k} must be > 0, got {v}")


def check_whole(minimum=1, **values) -> None:
    """Raise a one-line :class:`TutorialError` for any value that is not a whole number >= ``minimum`` (an int
    or a numpy integer: sizes and counts).

    >>> check_whole(n_hidden=2.0)
    Traceback (most recent call last):
    ...
    autoencoders_tutorial.errors.TutorialError: n_hidden must be a whole number >= 1, got 2.0 (float)
    """
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum:
            raise TutorialError(f"{k} must be a whole number >= {minimum}, got {v!r} ({type(v).__name__})")


def _real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


#: The corruption processes of Vincent et al. (JMLR 2010, section 4.2) and the range of their level.
CORRUPTIONS = {"masking": "[0, 1)", "gaussian": "[0, inf)", "salt_and_pepper": "[0, 1]"}


def check_corruption(level, name="corruption_level", kind="masking") -> float:
    """The one range check of a corruption level, by the kind of corruption.

    >>> check_corruption(0.3)
    0.3
    >>> check_corruption(1.2)
    Traceback (most recent call last):
    ...
    autoencoders_tutorial.errors.TutorialError: corruption_level must be in [0, 1) for masking noise, got 1.2
    >>> check_corruption(1.2, kind="gaussian")
    1.2
    """
    if not isinstance(kind, str) or kind not in CORRUPTIONS:
        raise TutorialError(f"corruption_type must be one of {', '.join(CORRUPTIONS)}, got {kind!r}")
    if not (_real(level) and math.isfinite(level) and level >= 0 and (
            level < 1 if kind == "masking" else level <= 1 if kind == "salt_and_pepper" else True)):
        raise TutorialError(f"{name} must be in {CORRUPTIONS[kind]} for {kind.replace('_', '-')} noise, got "
                            f"{level if isinstance(level, numbers.Real) else repr(level)}")
    return float(level)


def check_sparsity(target, weight, precision=None) -> None:
    """The sparsity penalty's target mean activation in (0, 1) and its weight >= 0, both finite; with
    ``precision`` (the run's float dtype) the weight must fit in it.

    >>> check_sparsity(0.05, 1e300, "float32")
    Traceback (most recent call last):
    ...
    autoencoders_tutorial.errors.TutorialError: sparsity_weight must be at most 3.4028235e+38 in float32, got 1e+300
    """
    if not (_real(target) and 0 < target < 1):
        raise TutorialError(f"sparsity_target must be in (0, 1), got {target!r}")
    if not (_real(weight) and weight >= 0 and math.isfinite(weight)):
        raise TutorialError(f"sparsity_weight must be a finite number >= 0, got {weight!r}")
    with np.errstate(over="ignore"):
        too_large = precision is not None and not np.isfinite(np.asarray(weight, dtype=precision))
    if too_large:
        raise TutorialError(f"sparsity_weight must be at most {np.finfo(precision).max!s} in {precision}, "
                            f"got {weight!r}")


def check_precision(precision) -> str:
    """A run's floating-point precision: "float32" or "float64"."""
    if not isinstance(precision, str) or precision not in ("float32", "float64"):
        raise TutorialError(f"precision must be float32 or float64, got {precision!r}")
    return precision


def diverged_hint(sparsity_weight=0.0) -> str:
    """What a NaN or infinite cost asks for: a lower learning rate, or a lower sparsity weight when it is on."""
    return "lower the learning rate" + (f" or sparsity_weight (now {sparsity_weight:g})" if sparsity_weight else "")


def check_seed(seed, name="seed") -> int:
    """A seed numpy's ``RandomState`` takes: an integer in [0, 2**32 - 1].

    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    autoencoders_tutorial.errors.TutorialError: seed must be an integer in [0, 4294967295], got -1
    """
    if isinstance(seed, bool) or not isinstance(seed, int) and not hasattr(seed, "__index__") or not 0 <= seed < 2**32:
        raise TutorialError(f"{name} must be an integer in [0, {2**32 - 1}], got {seed!r}")
    return int(seed)
