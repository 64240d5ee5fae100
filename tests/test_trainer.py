"""The one early-stopping loop: patience arithmetic, best-parameter restore, Ctrl-C, NaN, resume."""

import math

import numpy as np
import pytensor
import pytest

import utils


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
        return utils.early_stopping(self.train, 10, self.validate, self.test, [self.p], log=lambda *_: None,
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
    with pytest.raises(utils.TrainingDiverged, match="cost became nan at epoch 3, minibatch 4"):
        s.run()
    assert s.p.get_value()[0] == 20
    assert s.saved == [9, 19]  # nothing saved after the divergence


def test_resume_equals_uninterrupted():
    losses = [0.5, 0.45, 0.44, 0.3, 0.29, 0.28, 0.28, 0.28, 0.28, 0.28, 0.28]
    full = Script(losses)
    res_full = full.run()
    part = Script(losses)
    checkpoints = []
    part.run(n_epochs=2, on_epoch_end=lambda st, best: checkpoints.append((utils.EarlyStoppingState.from_meta(st.to_meta()), best)))
    state, best = checkpoints[-1]
    res = part.run(state=state, best_params=best)
    assert res.state == res_full.state
    assert part.calls == full.calls
    np.testing.assert_array_equal(part.p.get_value(), full.p.get_value())


def test_state_meta_roundtrip_infinity():
    st = utils.EarlyStoppingState(patience=5, validation_frequency=2)
    back = utils.EarlyStoppingState.from_meta(st.to_meta())
    assert math.isinf(back.best_validation_loss) and math.isnan(back.test_score)
