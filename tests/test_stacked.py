"""checkpoints and the SdA's loops: checkpoints, where a run starts, resumable pretraining and fine-tuning."""

import numpy as np
import pytensor
import pytest
from helpers import QUIET
from test_training import Script

import SdA as stacked
from autoencoders_tutorial import checkpoints
from autoencoders_tutorial.errors import DataError
from autoencoders_tutorial.files import params_to_arrays, save_params
from autoencoders_tutorial.training import EarlyStoppingState
from autoencoders_tutorial.steps import Steps


def _shared(value, name):
    return pytensor.shared(np.asarray(value, dtype=float), name=name)


def test_checkpoint_roundtrip_and_refusals(tmp_path):
    params = [_shared(np.arange(4.0), "a"), _shared([1.0, 2.0], "b")]
    rng = pytensor.shared(np.random.default_rng(5), name="rng")
    rng.get_value(borrow=True).random(3)  # advance it: the saved state is not the seed's
    state = EarlyStoppingState(patience=10, validation_frequency=2, epoch=3, best_validation_loss=0.25,
                                        test_score=0.125)
    progress = checkpoints.Progress("finetune", 0, 3, state, {"a": np.zeros(4), "b": np.ones(2)})
    config = {"batch_size": 10}
    checkpoints.save_checkpoint(tmp_path / "c.npz", params, rng, config, progress)
    want_next = np.random.default_rng()  # what the restored generator must draw next
    want_next.bit_generator.state = rng.get_value(borrow=True).bit_generator.state
    params[0].set_value(np.zeros(4))
    rng.set_value(np.random.default_rng(99))
    back = checkpoints.load_checkpoint(tmp_path / "c.npz", params, rng, config)
    np.testing.assert_array_equal(params[0].get_value(), np.arange(4.0))
    assert rng.get_value().random() == want_next.random()
    assert (back.phase, back.layer, back.epoch) == ("finetune", 0, 3) and back.early_stopping == state
    np.testing.assert_array_equal(back.best["b"], np.ones(2))
    with pytest.raises(DataError, match="was made with batch_size=10, this run has 20"):
        checkpoints.load_checkpoint(tmp_path / "c.npz", params, rng, {"batch_size": 20})
    save_params(tmp_path / "model.npz", params_to_arrays(params), config=config)
    with pytest.raises(DataError, match="is not a checkpoint"):
        checkpoints.load_checkpoint(tmp_path / "model.npz", params, rng, config)


def test_pretrain_layers_resumes_at_layer_and_epoch():
    calls, saved = [], []

    def fn(k):
        return Steps(lambda i, lr: calls.append((k, i, lr)) or 1.0, names=("lr",))

    progress = checkpoints.Progress("pretrain", layer=1, epoch=1)
    seconds = stacked.pretrain_layers([fn(0), fn(1), fn(2)], 2, 2, 0.5, progress, context=QUIET,
                                       checkpoint=lambda p: saved.append((p.phase, p.layer, p.epoch)))
    # layer 0 is done, layer 1 has one epoch left, layer 2 two
    assert calls == [(1, 0, 0.5), (1, 1, 0.5), (2, 0, 0.5), (2, 1, 0.5), (2, 0, 0.5), (2, 1, 0.5)]
    assert saved == [("pretrain", 1, 2), ("pretrain", 2, 1), ("pretrain", 2, 2), ("finetune", 0, 0)]
    assert sorted(seconds) == [1, 2] and progress.phase == "finetune"


def test_finetune_marks_done_only_when_not_interrupted():
    s = Script([0.5, 0.4, 0.3], fail_at=25)
    progress, saved = checkpoints.Progress("finetune"), []
    res = stacked.finetune_loop(s.train, 10, s.validate, s.test, [s.p], progress, n_epochs=100, patience=100,
                            context=QUIET, checkpoint=lambda p: saved.append((p.phase, p.epoch)))
    assert res.interrupted and progress.phase == "finetune" and saved == [("finetune", 1), ("finetune", 2)]
    assert progress.early_stopping.epoch == 2 and progress.best is not None

    done, saved = checkpoints.Progress("finetune"), []
    res = stacked.finetune_loop(Script([0.5, 0.4, 0.399, 0.3, 0.3]).train, 10, *_validate_test([0.5, 0.4, 0.399]),
                            [pytensor.shared(np.zeros(1), name="q")], done, n_epochs=100, patience=20,
                            context=QUIET, checkpoint=lambda p: saved.append((p.phase, p.epoch)))
    assert not res.interrupted and res.state.done
    assert done.phase == "done" and done.best is None and done.early_stopping is res.state
    assert saved == [("finetune", 1), ("finetune", 2), ("finetune", 3), ("finetune", 4), ("done", 4)]


def _validate_test(losses):
    it = iter(losses)
    return (lambda: next(it)), (lambda: 0.0)


def test_resume_or_start(tmp_path):
    params = [_shared(np.arange(3.0), "a")]
    rng = pytensor.shared(np.random.default_rng(1), name="rng")
    said, start = [], checkpoints.Progress("pretrain")
    path = tmp_path / "checkpoint.npz"
    assert checkpoints.resume_or_start(path, params, rng, {}, True, start, said.append) is start
    assert said == [f"no checkpoint in {tmp_path}; starting a fresh run"]
    checkpoints.save_checkpoint(path, params, rng, {}, checkpoints.Progress("finetune", epoch=2))
    params[0].set_value(np.zeros(3))
    got = checkpoints.resume_or_start(path, params, rng, {}, True, start, said.append)
    assert (got.phase, got.epoch) == ("finetune", 2) and params[0].get_value()[2] == 2.0
    assert checkpoints.resume_or_start(path, params, rng, {}, False, start, said.append) is start
    assert path.exists() and not (tmp_path / "checkpoint.previous.npz").exists()  # a fresh start touches nothing
    before = path.read_bytes()
    checkpoints.save_checkpoint(path, params, rng, {}, start, keep_previous=True)  # the fresh run's first checkpoint
    assert (tmp_path / "checkpoint.previous.npz").read_bytes() == before
    assert checkpoints.load_checkpoint(path, params, rng, {}).phase == "pretrain"
