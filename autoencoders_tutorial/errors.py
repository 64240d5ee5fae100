"""The error types a user can fix, and the value checks that raise them.

Every error here is a :class:`ValueError` whose message is one line naming the problem
and what to do; the command line (:func:`autoencoders_tutorial.cli.run_cli`) prints it
as ``error: ...`` and exits with status 2. Models and loops raise these types directly,
so nothing is re-wrapped on the way up.
"""

from __future__ import annotations


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
        if v is None or v <= 0:
            raise TutorialError(f"{k} must be > 0, got {v}")


def check_corruption(level, name="corruption_level") -> float:
    """The one range check of a masking-noise level: a number in [0, 1).

    >>> check_corruption(0.3)
    0.3
    >>> check_corruption(1.2)
    Traceback (most recent call last):
    ...
    autoencoders_tutorial.errors.TutorialError: corruption_level must be in [0, 1), got 1.2
    """
    if not 0 <= level < 1:
        raise TutorialError(f"{name} must be in [0, 1), got {level}")
    return float(level)
