"""engine: the measured set-up, user flags winning, import order, modes, the JAX host path's helpers."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from helpers import HAS_JAX, ROOT, run_python

from autoencoders_tutorial import engine, jax_backend
from autoencoders_tutorial.errors import TutorialError


@pytest.fixture
def restore_engine():
    saved = dict(engine.ENGINE)
    yield
    engine.ENGINE.clear()
    engine.ENGINE.update(saved)


def test_configure_engine_choices(restore_engine, monkeypatch):
    monkeypatch.setattr(engine, "_find_blas", lambda: "-lopenblas")
    e = engine.configure_engine({})
    assert e["settings"] == {"floatX": "float32", "blas__ldflags": "-lopenblas", "mode": "CVM"}
    assert e["flags"] == "floatX=float32,blas__ldflags=-lopenblas,mode=CVM"
    # a flag the user names wins; naming mode hands both choices to the user
    e = engine.configure_engine({"PYTENSOR_FLAGS": "floatX=float64,mode=NUMBA"})
    assert e["settings"] == {"blas__ldflags": "-lopenblas"} and e["train_mode"] is None
    assert e["flags"].startswith("floatX=float64,mode=NUMBA")
    monkeypatch.setattr(engine, "_find_blas", lambda: None)
    e = engine.configure_engine({})
    assert "mode" not in e["settings"] and e["default"].startswith("Numba")


def test_no_blas_note_is_kept_not_printed(restore_engine, monkeypatch, capsys):
    monkeypatch.setattr(engine, "_find_blas", lambda: None)
    monkeypatch.setattr(engine.importlib.util, "find_spec", lambda name: None)  # no JAX either
    e = engine.configure_engine({})
    assert "apt-get install libopenblas-dev" in e["note"] and e["train_mode"] is None
    assert capsys.readouterr() == ("", "")


def test_the_build_line_says_where_compiling_happens():
    assert engine.describe_build(1.25, "CVM") == "compiled in 1.2s"  # the C back end compiles as it builds
    assert engine.describe_build(0.02, "NUMBA") == "graph built in 0.0s; Numba compiles it in the first epoch"
    if HAS_JAX:
        assert engine.describe_build(0.02, "JAX") == "graph built in 0.0s; JAX compiles it in the first epoch"


def test_modes():
    assert engine.compile_mode("CVM") == "CVM"
    with pytest.raises(TutorialError, match="mode must be one of default, CVM"):
        engine.compile_mode("GPU")
    with pytensor.config.change_flags(floatX="float64"):
        assert engine.compile_mode(None) is None  # float64 work stays off JAX
    assert engine.is_jax_mode("JAX") and not engine.is_jax_mode("CVM")
    assert engine.describe_mode("NUMBA") == "NUMBA"


def test_library_first_sets_up_pytensor(tmp_path):
    plain = run_python(["-c", "import pytensor; print(pytensor.config.mode)"], tmp_path).stdout.strip()
    out = run_python(["-W", "error", "-c", "import dA, pytensor; print(pytensor.config.floatX, pytensor.config.mode)"],
                     tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["float32", engine.ENGINE["settings"].get("mode", plain)]
    assert out.stderr == ""  # nothing printed at import


def test_pytensor_first_still_gets_the_set_up(tmp_path):
    # without a system BLAS the library sets no BLAS flag; reading PyTensor's own would run its probe,
    # whose "could not link" warning is PyTensor's, not the set-up's
    code = ("import pytensor, dA\nfrom autoencoders_tutorial.engine import ENGINE\n"
            "print(pytensor.config.floatX, (pytensor.config.blas__ldflags if ENGINE['blas'] else '') or '-')")
    out = run_python(["-W", "error", "-c", code], tmp_path)
    assert out.returncode == 0, out.stderr  # -W error: no warning either
    assert out.stdout.split() == ["float32", engine.ENGINE["blas"] or "-"]


def test_pytensor_first_with_own_values_warns_once(tmp_path):
    code = ("import warnings, pytensor\npytensor.config.floatX = 'float16'\npytensor.config.mode = 'NUMBA'\n"
            "with warnings.catch_warnings(record=True) as w:\n    warnings.simplefilter('always')\n    import dA\n"
            "from autoencoders_tutorial.engine import describe_mode\n"
            "print(len(w)); print(w[0].message); print(pytensor.config.floatX); print(describe_mode('default'))")
    out = run_python(["-c", code], tmp_path)
    assert out.returncode == 0, out.stderr
    count, message, floatx, described = out.stdout.strip().splitlines()
    assert count == "1" and floatx == "float16"  # the user's own values are kept ...
    assert described.startswith("NUMBA (set before the library was imported)")  # ... and reported as they are
    # ... and the one warning names what was skipped and how to get it
    assert "skipped floatX=float32 (already set to 'float16'" in message
    assert "import dA (or autoencoders_tutorial.engine) before pytensor, or set PYTENSOR_FLAGS=" in message
    assert "floatX=float32" in message.rsplit("PYTENSOR_FLAGS=", 1)[1]


def test_user_flags_win_and_stay_in_the_environment(tmp_path):
    code = "import dA, os, pytensor; print(pytensor.config.floatX, os.environ['PYTENSOR_FLAGS'])"
    out = run_python(["-c", code], tmp_path, PYTENSOR_FLAGS="floatX=float64")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["float64", "floatX=float64"]


def test_importing_the_package_is_light(tmp_path):
    out = run_python(["-c", "import sys, autoencoders_tutorial; print('pytensor' in sys.modules)"], tmp_path)
    assert out.stdout.strip() == "False", out.stderr


def test_noise_advances_only_through_updates():
    pytest.importorskip("jax")
    from dA import dA

    da = dA(0, theano_rng=7, n_visible=300, n_hidden=2)
    tilde = da.get_corrupted_input(da.x, 0.3)
    X = np.ones((200, 300), dtype=pytensor.config.floatX)
    with pytest.warns(UserWarning, match="will not be used in the compiled JAX graph"):  # JAX's private copy
        f = pytensor.function([da.x], tilde, updates=da.noise_updates(), mode="JAX")
    a, b = np.asarray(f(X)), np.asarray(f(X))
    assert not np.array_equal(a, b), "with the generator update, every call draws fresh noise"
    assert abs((a == 0).mean() - 0.3) < 0.01 and abs((b == 0).mean() - 0.3) < 0.01
    with pytest.warns(UserWarning, match="will not be used"):
        g = pytensor.function([da.x], tilde, mode="JAX")
    assert np.array_equal(np.asarray(g(X)), np.asarray(g(X))), "without it the JAX generator does not advance"


def test_jax_step_then_host_function_reads_numpy():
    pytest.importorskip("jax")
    w = pytensor.shared(np.ones(3, dtype=pytensor.config.floatX), name="w")
    data = pytensor.shared(np.ones((4, 3), dtype=pytensor.config.floatX))
    x = pt.matrix("x")
    step = jax_backend.jax_minibatch_function([(x, data)], pt.sum(x * w), 2, updates=[(w, w * 2)])
    step(0)
    assert not isinstance(w.get_value(borrow=True), np.ndarray)  # a JAX array between calls
    total = engine.host_function([x], pt.sum(x * w))
    assert float(total(np.ones((1, 3), dtype=pytensor.config.floatX))) == 6.0
    assert isinstance(w.get_value(borrow=True), np.ndarray)
    with pytensor.config.change_flags(floatX="float64"), pytest.raises(TutorialError, match="float32"):
        jax_backend.jax_minibatch_function([(x, data)], pt.sum(x), 2)


def test_no_engine_special_cases_in_the_model_files():
    for name in ("dA.py", "SdA.py", "mlp.py", "logistic_sgd.py"):
        text = (ROOT / name).read_text()
        assert "jax" not in text and "sync_shared" not in text, name


def test_bad_pytensor_flags_exit_2_in_one_line(tmp_path):
    out = run_python(["-c", "import dA"], tmp_path, PYTENSOR_FLAGS="floatX=float17")
    assert out.returncode == 2 and out.stderr.strip().startswith("error: PYTENSOR_FLAGS='floatX=float17' is not valid")
    assert len(out.stderr.strip().splitlines()) == 1
