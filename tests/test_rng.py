"""rng: seeds and generators, shared generators, shared parameters by identity."""

import numpy as np
import pytensor
import pytest

from autoencoders_tutorial import rng


def test_check_random_state():
    assert isinstance(rng.check_random_state(3), np.random.Generator)
    rs = np.random.RandomState(0)
    assert rng.check_random_state(rs) is rs
    with pytest.raises(TypeError, match="got str"):
        rng.check_random_state("x")


def test_shared_rng_forms():
    a = rng.shared_rng(5, None)
    assert a.get_value().random() == np.random.default_rng(5).random()
    assert rng.shared_rng(a, None) is a  # shared by identity
    gen = np.random.default_rng(1)
    b = rng.shared_rng(gen, None)
    b.get_value(borrow=True).random(10)
    assert gen.random() == np.random.default_rng(1).random()  # the caller's generator is copied, not advanced
    tutorial = np.random.RandomState(123)
    c = rng.shared_rng(None, np.random.RandomState(123))  # seeded the tutorial's way: randint(2 ** 30)
    assert c.get_value().random() == np.random.default_rng(tutorial.randint(2**30)).random()
    with pytest.raises(TypeError, match="theano_rng must be"):
        rng.shared_rng("seed", None)


def test_generator_from_state_any_bit_generator():
    g = np.random.Generator(np.random.Philox(7))
    g.random(3)
    h = rng.generator_from_state(g.bit_generator.state)
    assert isinstance(h.bit_generator, np.random.Philox) and h.random() == g.random()


def test_shared_param_create_share_or_refuse():
    p = rng.shared_param(None, "w", (2, 3), lambda: np.ones((2, 3)))
    assert p.name == "w" and p.get_value().dtype == pytensor.config.floatX
    assert rng.shared_param(p, "w", (2, 3), None) is p
    with pytest.raises(TypeError, match="w must be None or a shared variable, got ndarray"):
        rng.shared_param(np.ones((2, 3)), "w", (2, 3), None)
    with pytest.raises(ValueError, match=r"w must have shape \(3, 2\), got \(2, 3\)"):
        rng.shared_param(p, "w", (3, 2), None)
    assert rng.tutorial_rng(3).randint(100) == np.random.RandomState(3).randint(100)
