"""training: the epoch loop, the early-stopping loop (patience arithmetic, restore, Ctrl-C, NaN, resume), checkpoints."""

import math
import sys

import numpy as np
import pytensor
import pytest
from helpers import QUIET

from autoencoders_tutorial import training
from autoencoders_tutorial.paths import RunContext


class Script:
    """A fake model: one shared counter that every training step increments."""

    def __init__(self, val_losses, fail_at=None, fail_with=None):
        self.p = pytensor.shared(np.zeros(1), name="p")
        self.val_losses = list(val_losses)
        self.calls = 0
        self.validations = 0
        self.fail_at, self.fail_with = fail_at, fail_with
        self.saved = []

    def train(self, i):
        self.calls += 1
        if self.calls == self.fail_at:
            if self.fail_with == "nan":
                return float("nan")
            raise KeyboardInterrupt
        self.p.set_value(self.p.get_value() + 1)
        return 1.0

    def validate(self):
        loss = self.val_losses[self.validations]
        self.validations += 1
        return loss

    def test(self):
        return 0.5 * self.val_losses[self.validations - 1]

    def run(self, **kw):
        kw.setdefault("patience", 20)
        kw.setdefault("n_epochs", 100)
        return training.early_stopping(self.train, 10, self.validate, self.test, [self.p], context=QUIET,
                                    on_improvement=lambda st: self.saved.append(st.best_iter), **kw)


def test_patience_arithmetic_exact():
    s = Script([0.5, 0.4, 0.399, 0.3, 0.3])
    res = s.run()
    # validation every min(10, 20 // 2) = 10 minibatches: iters 9, 19, 29, ...
    # iter 9: best 0.5, patience max(20, 18) = 20; iter 19: 0.4 < 0.5 * 0.995 -> patience 38;
    # iter 29: 0.399 is better but not by the threshold -> patience stays 38; stop at iter 38.
    assert s.validations == 3
    assert s.calls == 39
    assert res.state.patience == 38 and res.state.done
    assert res.epochs == 4
    assert res.best_validation_loss == 0.399 and res.state.best_iter == 29
    assert res.test_score == pytest.approx(0.1995)
    assert s.saved == [9, 19, 29]
    # best parameters (after 30 steps) restored, not the last (39 steps)
    assert s.p.get_value()[0] == 30


def test_epoch_cap_and_validation_frequency():
    s = Script([0.9 - 0.01 * k for k in range(50)])
    res = s.run(n_epochs=3, patience=1000)
    assert res.epochs == 3 and not res.state.done and s.calls == 30
    assert res.state.validation_frequency == 10
    s2 = Script([0.5] * 50)
    s2.run(n_epochs=2, patience=6)  # frequency min(10, 3) = 3
    assert s2.validations == 2  # iters 2 and 5; stops at iter 6 (patience max(6, 2*2)=6)


def test_ctrl_c_keeps_best():
    s = Script([0.5, 0.4, 0.3], fail_at=25)
    res = s.run()
    assert res.interrupted
    assert s.p.get_value()[0] == 20  # the best snapshot at iter 19


def test_nan_restores_best_and_raises():
    s = Script([0.5, 0.4, 0.3], fail_at=25, fail_with="nan")
    with pytest.raises(training.TrainingDiverged, match="cost became nan at epoch 3, minibatch 4"):
        s.run()
    assert s.p.get_value()[0] == 20
    assert s.saved == [9, 19]  # nothing saved after the divergence


def test_resume_equals_uninterrupted():
    losses = [0.5, 0.45, 0.44, 0.3, 0.29, 0.28, 0.28, 0.28, 0.28, 0.28, 0.28]
    full = Script(losses)
    res_full = full.run()
    part = Script(losses)
    checkpoints = []
    part.run(n_epochs=2, on_epoch_end=lambda st, best: checkpoints.append((training.EarlyStoppingState.from_meta(st.to_meta()), best)))
    state, best = checkpoints[-1]
    res = part.run(state=state, best_params=best)
    assert res.state == res_full.state
    assert part.calls == full.calls
    np.testing.assert_array_equal(part.p.get_value(), full.p.get_value())


def test_state_meta_roundtrip_infinity():
    st = training.EarlyStoppingState(patience=5, validation_frequency=2)
    back = training.EarlyStoppingState.from_meta(st.to_meta())
    assert math.isinf(back.best_validation_loss) and math.isnan(back.test_score)


def test_train_epochs_nan_and_interrupt():
    costs = iter([1.0, 2.0, float("nan")])
    with pytest.raises(training.TrainingDiverged, match="cost became nan at epoch 1, minibatch 0"):
        training.train_epochs(lambda i: next(costs), 2, 3, context=QUIET)
    calls = []

    def step(i):
        calls.append(i)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return 1.0

    res = training.train_epochs(step, 2, 10, context=QUIET)
    assert res.interrupted and res.costs == [1.0, 1.0] and len(res.epoch_seconds) == 2


def test_train_epochs_report_metrics_and_start_epoch(tmp_path):
    said, ends = [], []
    metrics = training.MetricsLog(tmp_path / "m.jsonl")
    res = training.train_epochs(lambda i: float(i), 4, 3, start_epoch=1, label="L: ",
                                context=RunContext(log=said.append, metrics=metrics),
                                on_epoch_end=lambda e, c: ends.append((e, c)))
    assert res.costs == [1.5, 1.5] and ends == [(1, 1.5), (2, 1.5)]
    assert said[0].startswith("L: Training epoch 1, cost 1.5000 (")
    import json
    recs = [json.loads(s) for s in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert [(r["phase"], r["epoch"], r["cost"]) for r in recs] == [("L", 1, 1.5), ("L", 2, 1.5)]
    with pytest.raises(training.TutorialError, match="no full minibatch"):
        training.train_epochs(lambda i: 0.0, 0, 1)


def test_labels_with_braces_are_printed_as_given():
    said = []
    training.train_epochs(lambda i: 1.0, 1, 1, label="{run} ", context=RunContext(log=said.append))
    assert said[0].startswith("{run} Training epoch 0, cost 1.0000")


def test_progress_lines_inside_long_epochs_and_a_bar_on_a_terminal(capsys, monkeypatch):
    said = []
    training.train_epochs(lambda i: 1.0, 3, 1, label="L: ", context=RunContext(log=said.append), progress_every=0.0)
    assert said[:3] == [f"  L: epoch 0: {i}/3 minibatches, 0s" for i in (1, 2, 3)]
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # a terminal: a tqdm bar instead of lines
    training.train_epochs(lambda i: 1.0, 3, 1, label="L: ", progress_every=0.0)
    out, err = capsys.readouterr()
    assert "minibatches" not in out and "L: Training epoch 0, cost 1.0000" in out
    assert "L: epoch 0" in err and "minibatch" in err  # the bar, on stderr, gone at the epoch's end


def test_steps_bind_their_named_inputs_as_python_binds_arguments():
    from autoencoders_tutorial.steps import Steps

    calls = []
    steps = Steps(lambda i, corruption, lr: calls.append((i, corruption, lr)) or 0.0, names=("corruption", "lr"),
                  defaults=(0.3, 0.1))
    steps(0)
    steps(1, 0.5)
    steps(2, lr=0.2)
    steps(3, corruption=None)  # None takes the default, as the tutorial's defaults did
    steps.bind(lr=0.05)(4)
    assert calls == [(0, 0.3, 0.1), (1, 0.5, 0.1), (2, 0.3, 0.2), (3, 0.3, 0.1), (4, 0.3, 0.05)]
    for bad, match in [(lambda: steps(0, 0.5, corruption=0.1), "given twice"), (lambda: steps(0, lr2=1), "unknown"),
                       (lambda: steps(0, 1, 2, 3), "at most 2"), (lambda: Steps(lambda i, lr: 0, names=("lr",))(0),
                                                                   "no value for lr")]:
        with pytest.raises(TypeError, match=match):
            bad()
    assert steps.block_for(100) == 0  # the step path: one minibatch per call


def test_an_epoch_cut_short_by_patience_says_so():
    s = Script([0.5, 0.4, 0.399, 0.3, 0.3])
    said = []
    training.early_stopping(s.train, 10, s.validate, s.test, [s.p], n_epochs=1000, patience=20,
                            context=RunContext(log=said.append))
    # patience runs out at iteration 38: the fourth epoch ran 9 of its 10 minibatches
    done = [line for line in said if " done: " in line or "stopped after" in line]
    assert [line.split(":")[0] for line in done] == ["epoch 1 done", "epoch 2 done", "epoch 3 done",
                                                       "epoch 4 stopped after 9 of 10 minibatches (patience ran out)"]


@pytest.mark.parametrize("n_batches, every", [(40, 0.0), (40, 60.0)])
def test_the_speed_is_measured_once_past_the_compiling_calls(n_batches, every):
    # a first call that "compiles" (slow), then fast minibatches: the speed handed on is the fast one, measured
    # after `every` seconds (a long epoch) or over the second epoch (short ones), and only once
    import time

    calls, got = [], []

    def step(i):
        calls.append(i)
        time.sleep(0.2 if len(calls) == 1 else 0.001)
        return 1.0

    training.train_epochs(step, n_batches, 3, context=QUIET, progress_every=every,
                          on_speed=got.append)
    assert len(got) == 1 and 0.0005 < got[0] < 0.05, got
