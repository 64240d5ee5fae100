"""The block path: K SGD steps per compiled call, the device noise, the loops' blocks, resume."""

import json

import numpy as np
import pytest
from helpers import HAS_JAX, MODES, QUIET

from autoencoders_tutorial import noise, paths, training
from autoencoders_tutorial.noise import DeviceNoise
from autoencoders_tutorial.engine import pt, pytensor, sync_shared
from autoencoders_tutorial.errors import DataError, TrainingDiverged, TutorialError
from autoencoders_tutorial.paths import RunContext, TrainPath, resolve_path, training_function
from autoencoders_tutorial.steps import Steps
from dA import dA

N_ROWS, BATCH, VIS, HID = 240, 10, 16, 8


def _da_steps(level, path, mode, seed=5, sparsity=0.0, kind="masking"):
    """A small dA's step function on ``path`` (None: the step path), and the dA."""
    X = np.random.default_rng(0).random((N_ROWS, VIS), dtype=np.float32)
    data = pytensor.shared(X, name="train.x")
    x = pt.matrix("x", dtype="float32")
    da = dA(np.random.RandomState(seed), theano_rng=seed, input=x, n_visible=VIS, n_hidden=HID,
            corruption_type=kind, sparsity_weight=sparsity)
    cost, updates = da.get_cost_updates(level, 0.1)
    return training_function([(x, data)], cost, BATCH, updates, context=RunContext(mode, path or TrainPath())), da


def _params(da):
    sync_shared()
    return [np.asarray(p.get_value()) for p in da.params]


def _run_blocks(step, k, n=N_ROWS // BATCH):
    """Minibatches 0..n-1 in blocks of ``k`` (1: single steps): the costs."""
    if k == 1:
        return np.array([float(step(i)) for i in range(n)])
    return np.concatenate([np.asarray(step.block(s, k)) for s in range(0, n, k)])


@pytest.mark.parametrize("mode", MODES)
def test_k_steps_in_one_call_equal_k_single_steps(mode):
    step, ref = _da_steps(0.0, None, mode)
    want = _run_blocks(step, 1)
    block, da = _da_steps(0.0, TrainPath("block", "host"), mode)
    got = _run_blocks(block, 8)  # 24 minibatches: three calls
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for a, b in zip(_params(da), _params(ref)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["masking", "gaussian", "salt_and_pepper"])
def test_host_noise_blocks_are_the_step_path_bit_for_bit(mode, kind):
    step, ref = _da_steps(0.3, None, mode, kind=kind)
    want = _run_blocks(step, 1)
    block, da = _da_steps(0.3, TrainPath("block", "host"), mode, kind=kind)
    got = _run_blocks(block, 12)
    np.testing.assert_allclose(got, want, rtol=1e-4)  # the C back end sums the cost in another order
    for a, b in zip(_params(da), _params(ref)):
        if mode == "JAX" and kind != "gaussian":  # the library's default: today's numbers, bit for bit
            np.testing.assert_array_equal(a, b)
        else:  # the same noise; x + level * noise may become one fused multiply-add inside the scan (JAX),
            # and the C back end fuses the scan's body otherwise: float32 rounding apart
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_device_noise_does_not_depend_on_the_block_size(mode):
    results = []
    for k in (1, 6, 24):
        step, da = _da_steps(0.3, TrainPath("block", "device"), mode, sparsity=0.1)
        costs = _run_blocks(step, k)
        results.append((costs, _params(da), np.asarray(step.state.get_value())))
    for costs, params, state in results[1:]:
        np.testing.assert_array_equal(costs, results[0][0])
        for a, b in zip(params, results[0][1]):
            np.testing.assert_array_equal(a, b)
        assert state[2] == 24 and np.array_equal(state, results[0][2])
    # and it is noise: other costs than the same steps without corruption
    step, _ = _da_steps(0.0, TrainPath("block", "device"), mode)
    assert not np.allclose(_run_blocks(step, 24), results[0][0])


def test_device_noise_rate_and_freshness():
    state = pytensor.shared(np.array([12345, 678, 0], dtype=np.uint32))
    counter = pt.scalar("c", dtype="uint32")
    u = DeviceNoise.uniform(state, counter, 0, (100, 1000), "float32")
    z = DeviceNoise.normal(state, counter, 1, (100, 1000), "float32")
    f = pytensor.function([counter], [u, z], mode="CVM")
    u0, z0 = f(0)
    u1, _ = f(1)
    n = u0.size
    assert 0 <= u0.min() and u0.max() < 1
    keep = u0 >= 0.3  # the masking rule: keep with probability 0.7
    assert abs(keep.mean() - 0.7) < 4 * np.sqrt(0.21 / n)
    assert abs(u0.mean() - 0.5) < 4 * np.sqrt(1 / 12 / n)
    assert abs(np.corrcoef(u0.ravel(), u1.ravel())[0, 1]) < 4 / np.sqrt(n)  # fresh at the next minibatch
    assert (keep != (u1 >= 0.3)).mean() > 0.4  # another mask, not the same one
    assert abs(np.corrcoef(u0[:, :-1].ravel(), u0[:, 1:].ravel())[0, 1]) < 4 / np.sqrt(n)  # neighbours independent
    assert abs(z0.mean()) < 4 / np.sqrt(n) and abs(z0.std() - 1) < 0.01
    other_key = pytensor.function([counter], DeviceNoise.uniform(
        pytensor.shared(np.array([12346, 678, 0], dtype=np.uint32)), counter, 0, (100, 1000), "float32"), mode="CVM")
    assert abs(np.corrcoef(u0.ravel(), other_key(0).ravel())[0, 1]) < 4 / np.sqrt(n)


@pytest.mark.skipif(not HAS_JAX, reason="JAX not installed")
@pytest.mark.slow  # two compilations of the hash, cold
def test_device_noise_is_the_same_on_jax_and_c():
    state = pytensor.shared(np.array([1, 2, 3], dtype=np.uint32))
    counter = pt.scalar("c", dtype="uint32")
    bits = DeviceNoise.bits(state, counter, 0, (7, 5))
    c, j = (np.asarray(pytensor.function([counter], bits, mode=m)(9)) for m in ("CVM", "JAX"))
    np.testing.assert_array_equal(c, j)


def _state(calls):
    class Lazy:  # a cost still on the device: not a float, read back with np.asarray
        def __init__(self, v):
            self.v = v

        def __array__(self, dtype=None, copy=None):
            return np.asarray(self.v, dtype=dtype)

    class Fake(Steps):
        block_size = 4

        def __call__(self, i):
            calls.append(("step", i))
            return Lazy(1.0)

        def block(self, start, k):
            calls.append(("block", start, k))
            return Lazy([float("nan") if i == 7 else 1.0 for i in range(start, start + k)])

    return Fake()


def test_epochs_run_blocks_then_the_remainder_and_check_costs_late():
    calls, ends = [], []
    steps = _state(calls)
    with pytest.raises(TrainingDiverged, match=r"cost became nan at epoch 0, minibatch 7 \(read back with minibatches "
                                               r"0-9\)"):
        training.train_epochs(steps, 10, 2, context=QUIET, on_epoch_end=lambda *a: ends.append(a))
    # blocks of 4 for 0..7, then the remainder 8, 9 as one block; the NaN of minibatch 7 is found at the epoch's end
    assert calls == [("block", 0, 4), ("block", 4, 4), ("block", 8, 2)] and ends == []
    calls.clear()
    with pytest.raises(TrainingDiverged, match="minibatch 7"):
        training.train_epochs(steps, 9, 2, context=QUIET)
    assert calls == [("block", 0, 4), ("block", 4, 4), ("step", 8)]  # a remainder of one is a step


def test_a_remainder_of_yet_another_size_runs_as_steps_past_the_cap():
    """A remainder runs as one block when its size is compiled or few sizes are; past
    ``MAX_BLOCK_SIZES`` sizes, as single steps (no compilation per epoch for remainders that vary)."""
    for compiled, want in [({4}, [("block", 0, 4), ("block", 4, 4), ("block", 8, 2)]),
                           ({4, 3, 5}, [("block", 0, 4), ("block", 4, 4), ("step", 8), ("step", 9)]),
                           ({4, 3, 2}, [("block", 0, 4), ("block", 4, 4), ("block", 8, 2)])]:
        calls = []
        steps = _state(calls)
        steps.block_sizes = lambda compiled=compiled: set(compiled)
        costs = training._Costs(10, "", 0)
        assert list(training._run(steps, costs, 0, 10, 4))[-1] == 10
        assert calls == want, compiled
    assert training.MAX_BLOCK_SIZES == 3


class _Script:
    """A classifier whose validation errors follow a list; its train function has blocks (or not)."""

    def __init__(self, losses, blocks=None):
        self.losses, self.blocks_at, self.calls = list(losses), blocks, []
        self.p = pytensor.shared(np.zeros(1), name="p")
        self.validations = 0

    def train(self, i):
        self.calls.append(i)
        self.p.set_value(self.p.get_value() + 1)
        return 0.5

    def validate(self):
        self.validations += 1
        return self.losses[min(self.validations - 1, len(self.losses) - 1)]

    def run(self, **kw):
        fn = self.train
        if self.blocks_at:
            script = self

            class Fake(Steps):
                block_size = script.blocks_at

                def __call__(self, i):
                    return script.train(i)

                def block(self, start, k):
                    return np.array([script.train(i) for i in range(start, start + k)])

            fn = Fake()
        return training.early_stopping(fn, 10, self.validate, lambda: 0.25, [self.p], context=QUIET, **kw)


@pytest.mark.parametrize("k", [3, 4, 10])
@pytest.mark.parametrize("patience, freq", [(15, None), (40, 7), (1000, 4)])
def test_early_stopping_on_blocks_stops_where_the_step_path_stops(k, patience, freq):
    losses = [0.5, 0.4, 0.39, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
    step, block = _Script(losses), _Script(losses, blocks=k)
    a = step.run(n_epochs=12, patience=patience, validation_frequency=freq)
    b = block.run(n_epochs=12, patience=patience, validation_frequency=freq)
    assert a.state == b.state and step.calls == block.calls and step.validations == block.validations
    assert a.epoch_seconds and len(a.epoch_seconds) == len(b.epoch_seconds)
    np.testing.assert_array_equal(step.p.get_value(), block.p.get_value())


def test_resolve_path():
    assert resolve_path("step").name == "step"
    assert resolve_path("auto", mode="CVM") == TrainPath()  # the C back end: steps measured faster
    forced = resolve_path("block", "device", 7, mode="CVM")
    assert (forced.name, forced.block_size) == ("block/device", 7)
    assert resolve_path("block", mode="CVM").name == "block/host"  # a CPU: the step path's noise
    note = resolve_path("block", mode="NUMBA")
    assert note.kind == "step" and "not NUMBA" in note.note
    if HAS_JAX:
        assert resolve_path("auto", mode="JAX").kind == "block"
    if HAS_JAX:  # a PyTensor that cannot compile the block path: the step path, and one line saying why
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(paths, "_block_failure", lambda mode: "ValueError: Slice entries must be static integers")
            fallback = resolve_path("auto", mode="JAX")
        assert fallback.kind == "step" and fallback.note.startswith("note: this PyTensor (")
        assert "Slice entries must be static integers); using the step path" in fallback.note
    for bad, match in [(dict(train_path="fast"), "train_path must be one of auto, step, block"),
                       (dict(noise_source="gpu"), "noise_source must be one of"),
                       (dict(block_size=0), "block_size must be a whole number >= 1")]:
        with pytest.raises(TutorialError, match=match):
            resolve_path(**bad)


def test_a_passed_block_probe_is_remembered_and_a_failed_one_is_not(tmp_path, monkeypatch):
    """The probe runs once per machine, versions and back end: a pass is kept beside the compile
    cache; a failure, or a cache file that is damaged, means probing again."""
    calls = []
    outcome = {"value": None}
    monkeypatch.setattr(paths, "_probe", lambda mode: calls.append(mode) or outcome["value"])
    monkeypatch.setattr(paths, "_probe_file", lambda: tmp_path / paths.PROBE_FILE)
    fresh = lambda: paths._block_failure.__wrapped__("CVM")  # noqa: E731  (past the in-process cache)
    outcome["value"] = "ValueError: no"
    assert fresh() == "ValueError: no" and fresh() == "ValueError: no" and len(calls) == 2  # not kept
    assert not (tmp_path / paths.PROBE_FILE).exists()
    outcome["value"] = None
    assert fresh() is None and fresh() is None and len(calls) == 3  # kept: the second is not probed
    assert json.loads((tmp_path / paths.PROBE_FILE).read_text()) == [paths._probe_key("CVM")]
    assert "CVM" in paths._probe_key("CVM") and pytensor.__version__ in paths._probe_key("CVM")
    with pytensor.config.change_flags(floatX="float64"):  # another precision is another key
        assert fresh() is None and len(calls) == 4
    key = paths._probe_key("CVM")
    with monkeypatch.context() as m:  # so are other flags
        m.setenv("PYTENSOR_FLAGS", "optimizer_excluding=scan")
        assert paths._probe_key("CVM") != key
    (tmp_path / paths.PROBE_FILE).write_text("{not json")
    assert fresh() is None and len(calls) == 5  # damaged: probed again, and the file rewritten
    assert json.loads((tmp_path / paths.PROBE_FILE).read_text()) == [paths._probe_key("CVM")]


@pytest.mark.parametrize("mode", MODES)
def test_logistic_regression_stops_at_the_same_iteration_on_both_paths(tmp_path, mode):
    from logistic_sgd import run_logistic

    kw = dict(dataset="digits", n_epochs=30, batch_size=50, patience=200, mode=mode, log=lambda *_: None)
    clf_s, res_s = run_logistic(output_dir=tmp_path / "s", train_path="step", **kw)
    clf_b, res_b = run_logistic(output_dir=tmp_path / "b", train_path="block", block_size=6, **kw)
    assert res_b.state.best_iter == res_s.state.best_iter and res_b.epochs == res_s.epochs
    assert res_b.best_validation_loss == res_s.best_validation_loss and res_b.test_score == res_s.test_score
    for a, b in zip(clf_s.params, clf_b.params):
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=1e-5, atol=1e-6)


def test_device_noise_state_is_checkpointed(tmp_path):
    from autoencoders_tutorial.checkpoints import Progress, load_checkpoint, save_checkpoint

    rng = pytensor.shared(np.random.default_rng(3), name="rng")
    noise.device_noise(rng).state.set_value(np.array([1, 2, 40], dtype=np.uint32))
    p = pytensor.shared(np.ones(2), name="p")
    save_checkpoint(tmp_path / "c.npz", [p], rng, {"x": 1}, Progress())
    noise.device_noise(rng).state.set_value(np.array([0, 0, 0], dtype=np.uint32))
    load_checkpoint(tmp_path / "c.npz", [p], rng, {"x": 1})
    assert noise.device_noise_state(rng) == [1, 2, 40]
    with pytest.raises(ValueError, match="not three integers"):
        noise.set_device_noise_state(rng, [1, 2, -1])


@pytest.mark.slow  # five fits on the C back end's blocks
def test_estimator_with_device_noise_refits_and_continues_exactly(monkeypatch):
    from autoencoders_tools.estimators import DenoisingAutoencoder

    monkeypatch.setattr(paths, "platform", lambda mode: "gpu")  # what a GPU gets: noise drawn on the device
    X = np.random.default_rng(2).random((100, 16))
    kw = dict(n_hidden=8, batch_size=10, random_state=3, train_path="block", mode="CVM")
    est = DenoisingAutoencoder(n_epochs=2, **kw)
    first = est.fit(X).components_.copy()
    assert est.device_noise_state_[2] == 20  # two epochs of 10 minibatches drawn on the device
    np.testing.assert_array_equal(est.fit(X).components_, first)  # a refit starts the device stream again
    stepwise = DenoisingAutoencoder(n_epochs=1, **kw)
    stepwise.partial_fit(X).partial_fit(X)
    np.testing.assert_array_equal(stepwise.components_, first)  # and partial_fit continues it


@pytest.mark.slow  # the C back end's device-noise blocks: a scan compiled cold
def test_saved_estimator_continues_the_device_stream(monkeypatch, tmp_path):
    from autoencoders_tools.estimators import DenoisingAutoencoder

    monkeypatch.setattr(paths, "platform", lambda mode: "gpu")
    X = np.random.default_rng(2).random((60, 16))
    kw = dict(n_hidden=8, batch_size=10, random_state=3, train_path="block", mode="CVM", n_epochs=1)
    whole = DenoisingAutoencoder(**kw).partial_fit(X).partial_fit(X)
    DenoisingAutoencoder(**kw).partial_fit(X).save(tmp_path / "da.npz")
    resumed = DenoisingAutoencoder.load(tmp_path / "da.npz").partial_fit(X)
    np.testing.assert_array_equal(resumed.components_, whole.components_)


def test_checkpoints_from_before_the_block_path_resume_on_the_step_path(tmp_path):
    from autoencoders_tutorial.checkpoints import Progress, load_checkpoint, save_checkpoint

    rng = pytensor.shared(np.random.default_rng(3), name="rng")
    p = pytensor.shared(np.ones(2), name="p")
    save_checkpoint(tmp_path / "c.npz", [p], rng, {"seed": 1}, Progress())  # no train_path in it
    load_checkpoint(tmp_path / "c.npz", [p], rng, {"seed": 1, "train_path": "step"})
    with pytest.raises(DataError, match="was made with train_path='step', this run has 'block/host'"):
        load_checkpoint(tmp_path / "c.npz", [p], rng, {"seed": 1, "train_path": "block/host"})


@pytest.mark.skipif(not HAS_JAX, reason="JAX not installed")
def test_jax_in_float64_is_refused_before_anything_runs():
    with pytensor.config.change_flags(floatX="float64"), pytest.raises(TutorialError, match="JAX mode runs in float32"):
        resolve_path("auto", mode="JAX")


@pytest.mark.skipif(not HAS_JAX, reason="JAX not installed")
def test_jax_blocks_read_an_aligned_training_set_and_their_host_noise_in_place():
    """The block path holds the data once: JAX reads an aligned training set (as the IDX reader and
    the precomputed codes make them) and each block's host-drawn noise where numpy put them."""
    from autoencoders_tutorial.readers import empty_aligned

    X = empty_aligned((N_ROWS, VIS))
    X[:] = np.random.default_rng(0).random((N_ROWS, VIS), dtype=np.float32)
    data = pytensor.shared(X, name="train.x", borrow=True)
    x = pt.matrix("x", dtype="float32")
    da = dA(np.random.RandomState(5), theano_rng=5, input=x, n_visible=VIS, n_hidden=HID)
    cost, updates = da.get_cost_updates(0.3, 0.1)
    step = training_function([(x, data)], cost, BATCH, updates, context=RunContext("JAX", TrainPath("block", "host", 6)))
    step.block(0, 6)
    store = step._stores[0][1].get_value(borrow=True)
    assert store.unsafe_buffer_pointer() == X.ctypes.data   # no second copy of the training set


def test_host_noise_drawn_in_chunks_is_one_draw(monkeypatch):
    """A block's host noise comes in chunks of a few MB: the stream of one draw, bit for bit."""
    draws = []
    for chunk in (1 << 19, 7):
        monkeypatch.setattr(noise, "_DRAW_CHUNK", chunk)
        step, _ = _da_steps(0.3, TrainPath("block", "host", 6), "CVM")
        draws.append(_run_blocks(step, 6))
    np.testing.assert_array_equal(draws[0], draws[1])


@pytest.mark.parametrize("kind", ["masking", "gaussian"])
def test_host_noise_of_blocks_is_the_step_paths_stream_and_its_arrays_are_reused(monkeypatch, kind):
    """Masking noise (uniform on [0, 1)) is drawn with numpy's random() into arrays that every block
    reuses, other noise with the op's own draw; both are the step path's masks, bit for bit: after
    the same minibatches the generator is in the same state and the parameters agree."""
    from autoencoders_tutorial import blocks

    generic = []
    draw_on_host = noise.draw_on_host
    monkeypatch.setattr(noise, "draw_on_host", lambda *a: generic.append(1) or draw_on_host(*a))
    arrays = []
    host_draws = blocks.host_draws
    monkeypatch.setattr(blocks, "host_draws", lambda *a: arrays.append(host_draws(*a)[0]) or arrays[-1:])
    ref, da_ref = _da_steps(0.3, None, "CVM", kind=kind)
    want = _run_blocks(ref, 1)
    block, da = _da_steps(0.3, TrainPath("block", "host", 6), "CVM", kind=kind)
    got = _run_blocks(block, 6)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert da.theano_rng.get_value().bit_generator.state == da_ref.theano_rng.get_value().bit_generator.state
    assert len(arrays) == 4 and all(a is arrays[0] for a in arrays)  # one array, drawn into four times
    assert bool(generic) == (kind == "gaussian")  # masking never takes the generic draw
    block.release()  # frees them: the next call draws into a new array
    assert block._noise_arrays == {6: {}}
    block.block(0, 6)
    assert arrays[-1] is not arrays[0] and block._noise_arrays[6][0] is arrays[-1]
