"""utils.py is the tutorial's small module again; a user's own utils.py cannot break the library."""

import pytest
from helpers import run_python

import utils
from autoencoders_tutorial import images

# A user's working directory full of files named like common modules and like every
# module of the package.
USER_FILES = ("utils", "engine", "errors", "rng", "images", "files", "download", "datasets", "graph", "training",
              "cli", "common", "core")


def test_reexports_the_tutorial_helpers():
    assert utils.tile_raster_images is images.tile_raster_images
    assert utils.scale_to_unit_interval is images.scale_to_unit_interval
    assert sorted(utils.__all__) == ["scale_to_unit_interval", "tile_raster_images"]


@pytest.fixture
def user_dir(tmp_path):
    for name in USER_FILES:
        (tmp_path / f"{name}.py").write_text(f"raise ImportError('the user\\'s own {name}.py was imported')\n")
    return tmp_path


def test_user_modules_do_not_break_imports(user_dir):
    out = run_python(["-c", "import dA, SdA, mlp, logistic_sgd; print('ok')"], user_dir)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


@pytest.mark.slow  # a subprocess running a script
def test_user_modules_do_not_break_the_script(user_dir):
    # python -m puts the working directory first on sys.path, as python -c does
    out = run_python(["-m", "dA", "--dataset", "synthetic", "--epochs", "1", "--hidden", "4", "--batch-size", "10",
                      "--corruption", "0.3", "--output-dir", str(user_dir / "out")], user_dir)
    assert out.returncode == 0, out.stderr
    assert (user_dir / "out" / "dA_corruption_30.npz").is_file()
