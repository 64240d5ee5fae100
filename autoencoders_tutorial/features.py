"""Features: whether pretraining learned codes a linear classifier can use, against the raw pixels and both.

This module sits above the models' interface (anything with ``get_codes(X)``) and imports none of them.
"""

from __future__ import annotations

import time
import warnings

import numpy as np


def features_comparison(sda, ds, n_labels=None, max_iter=200, log=print):
    """Train one scikit-learn logistic regression on raw pixels, on top-layer codes, and on both, with the
    labels of the first ``n_labels`` training rows (all when None); return ``{name: test error}``."""
    from sklearn.linear_model import LogisticRegression as SkLogReg

    (Xtr, ytr), _, (Xte, yte) = ds.splits
    Xtr, ytr = Xtr[:n_labels], ytr[:n_labels]
    log(f"  features fitted on the labels of {'all' if n_labels is None else 'the first'} {len(ytr)} training rows, "
        f"tested on {len(yte)} test rows")
    Ctr, Cte = sda.get_codes(Xtr), sda.get_codes(Xte)
    sets = {"raw pixels": (Xtr, Xte), "top-layer codes": (Ctr, Cte),
            "raw + codes": (np.hstack([Xtr, Ctr]), np.hstack([Xte, Cte]))}
    errors = {}
    for name, (A, B) in sets.items():
        log(f"  features {name:16s}: fitting a logistic regression on {A.shape[0]} rows of {A.shape[1]} features ...")
        t0 = time.perf_counter()
        clf = SkLogReg(max_iter=max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lbfgs may stop at max_iter; the error is still what it is
            clf.fit(A, ytr)
        errors[name] = float(np.mean(clf.predict(B) != yte))
        log(f"  features {name:16s}: test error {errors[name] * 100:6.2f} %  ({A.shape[1]} features, "
            f"{time.perf_counter() - t0:.1f}s)")
    return errors
