"""Randomness, from one seed: a numpy generator for the initial weights, and a PyTensor shared generator for the
corruption noise, whose next state is part of a compiled function's updates (fresh noise on every call,
checkpointable); shared parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .engine import pytensor  # first: PyTensor, configured
from .errors import check_seed
from .memory import check_fits

from pytensor.compile.sharedvalue import SharedVariable  # noqa: E402  (after the engine's set-up)


def check_random_state(seed, *, ints="Generator", child=False,
                       name="seed") -> np.random.Generator | np.random.RandomState:
    """Normalise ``seed`` (None, int, Generator or RandomState) to a numpy generator: the library's one helper.

    - A RandomState or Generator is used as is, so code seeded the tutorial's way
      (``numpy.random.RandomState(123)``) draws the tutorial's exact weights. With ``child`` a Generator
      seeds a new one instead, advancing the caller's by one draw (an estimator's ``random_state``: each
      fit from it differs, as scikit-learn's do).
    - An int is ``numpy.random.default_rng(seed)`` (the model classes), or with ``ints="RandomState"`` the
      tutorial's ``numpy.random.RandomState(seed)`` (the estimators, as scikit-learn's ``check_random_state``
      reads one: an estimator fitted with ``random_state=s`` starts from the weights of ``--seed s``).
    - None is a fresh generator, or with ``ints="RandomState"`` numpy's global one (scikit-learn's
      convention: ``numpy.random.seed`` then makes a fit reproducible).

    Anything else is a TypeError naming ``name``.
    """
    legacy = ints == "RandomState"
    if seed is None:
        return np.random.mtrand._rand if legacy else np.random.default_rng()
    if isinstance(seed, (int, np.integer)):
        seed = check_seed(seed, name)
        return np.random.RandomState(seed) if legacy else np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator) and child:
        return np.random.default_rng(seed.integers(2**32))
    if isinstance(seed, (np.random.Generator, np.random.RandomState)):
        return seed
    raise TypeError(f"{name} must be None, an int seed, a numpy Generator or RandomState, got {type(seed).__name__} "
                    f"{seed!r}")


def tutorial_rng(seed: int) -> np.random.RandomState:
    """``numpy.random.RandomState(seed)``: the ``run_*`` scripts start from the tutorial's exact initial weights."""
    return np.random.RandomState(check_seed(seed))


def shared_rng(theano_rng, numpy_rng, name: str = "rng"):
    """A PyTensor shared random generator for noise, from ``theano_rng``: None (seeded from ``numpy_rng``, as the
    tutorial does with ``numpy_rng.randint(2 ** 30)``), an int seed, a numpy Generator (copied), or an existing
    shared generator (used as is: layers share one stream)."""
    if isinstance(theano_rng, SharedVariable):
        if not isinstance(theano_rng.get_value(borrow=True), np.random.Generator):
            raise TypeError("theano_rng must hold a numpy Generator")
        return theano_rng
    if theano_rng is None:
        legacy = isinstance(numpy_rng, np.random.RandomState)
        theano_rng = int(numpy_rng.randint(2**30) if legacy else numpy_rng.integers(2**30))
    if isinstance(theano_rng, (int, np.integer)):
        gen = np.random.default_rng(int(theano_rng))
    elif isinstance(theano_rng, np.random.Generator):
        gen = generator_from_state(theano_rng.bit_generator.state)  # a copy: the caller's stays untouched
    else:
        raise TypeError("theano_rng must be None, an int seed, a numpy Generator or a shared "
                        f"generator, got {type(theano_rng).__name__}")
    return pytensor.shared(gen, name=name)


def generator_from_state(state: Mapping) -> np.random.Generator:
    """A numpy Generator in ``state`` (a ``bit_generator.state`` dict, any bit generator)."""
    bit_gen = getattr(np.random, state["bit_generator"])()
    bit_gen.state = state
    return np.random.Generator(bit_gen)


def shared_param(value, name: str, shape: tuple[int, ...], init: Callable[[], np.ndarray]):
    """``None`` -> a new shared variable from ``init()`` (refused in one line, before it is drawn, if larger than
    the memory available); a shared variable -> itself; anything else is a TypeError (weights are shared by
    identity, never copied)."""
    if value is None:
        check_fits(shape, 8 + np.dtype(pytensor.config.floatX).itemsize, name)  # a float64 draw, then its copy
        return pytensor.shared(np.asarray(init(), dtype=pytensor.config.floatX), name=name, borrow=True)
    if not isinstance(value, SharedVariable):
        raise TypeError(f"{name} must be None or a shared variable, got {type(value).__name__}")
    got = value.get_value(borrow=True).shape
    if tuple(got) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(got)}")
    return value

