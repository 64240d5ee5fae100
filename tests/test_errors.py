"""errors: one-line error types and the value checks that raise them."""

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
