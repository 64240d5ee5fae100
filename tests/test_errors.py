"""errors: one-line error types and the value checks that raise them."""

import numpy as np
import pytest

from autoencoders_tutorial import errors


def test_error_types_are_value_errors():
    assert issubclass(errors.DataError, errors.TutorialError)
    assert issubclass(errors.TrainingDiverged, errors.TutorialError)
    assert issubclass(errors.TutorialError, ValueError)


@pytest.mark.parametrize("value", [0, -1, None])
def test_check_positive_names_the_value(value):
    with pytest.raises(errors.TutorialError, match=f"^n_hidden must be > 0, got {value}$"):
        errors.check_positive(n_in=3, n_hidden=value)


@pytest.mark.parametrize("level", [-0.1, 1.0, 1.5, float("nan")])
def test_check_corruption_one_wording(level):
    with pytest.raises(errors.TutorialError, match=rf"^corruption_level must be in \[0, 1\) for masking noise, got {level}$"):
        errors.check_corruption(level)
    assert errors.check_corruption(0) == 0.0 and errors.check_corruption(0.99) == 0.99


def test_sizes_and_numbers_name_what_they_got():
    with pytest.raises(errors.TutorialError, match=r"^n_hidden must be a number > 0, got '3' \(str\)$"):
        errors.check_positive(n_hidden="3")
    with pytest.raises(errors.TutorialError, match=r"^n_hidden must be a whole number >= 1, got 2.0 \(float\)$"):
        errors.check_whole(n_hidden=2.0)
    errors.check_whole(n_hidden=np.int64(3))
    errors.check_whole(0, pretraining_epochs=0)
