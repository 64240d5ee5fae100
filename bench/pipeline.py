"""The README's scikit-learn recipe on Fashion-MNIST, as written there; prints the table.

    python bench/pipeline.py            # about 20 minutes on 2 cores
    python bench/pipeline.py few        # only the few-labels row

An SVC on raw pixels, on the codes of a denoising autoencoder, and on both side by side
(SVC on all 50,000 rows is too slow on 2 cores, so every model here trains on the first
10,000 training rows and is scored on the full 10,000-row test set); then the few-labels
case: an SdAClassifier pretrained on all 50,000 rows and fine-tuned on the first 1,000
labels (the others marked -1), early-stopped on the validation split.
"""

import sys
import time

import numpy as np
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import SVC

from autoencoders_tutorial.datasets import load_dataset
from autoencoders_tools.estimators import DenoisingAutoencoder, SdAClassifier

ds = load_dataset("fashion-mnist")
X, y = ds.train[0][:10_000], ds.train[1][:10_000]
X_test, y_test = ds.test


def dae():
    return DenoisingAutoencoder(n_hidden=500, corruption_level=0.3, n_epochs=15, random_state=123)


models = {
    "SVC on raw pixels": SVC(),
    "SVC on dA codes": make_pipeline(dae(), SVC()),
    "SVC on raw pixels + dA codes": make_pipeline(make_union(FunctionTransformer(), dae()), SVC()),
}
print("| model | test error | fit + score time |")
print("|---|---|---|")
for name, model in models.items() if sys.argv[1:] != ["few"] else ():
    t0 = time.perf_counter()
    model.fit(X, y)
    error = 1 - model.score(X_test, y_test)
    print(f"| {name} | {100 * error:.2f} % | {time.perf_counter() - t0:.0f} s |", flush=True)

# Few labels: y == -1 marks the unlabelled rows; pretraining uses all of them.
X_all, y_all = ds.train
y_few = np.where(np.arange(len(y_all)) < 1000, y_all, -1)
t0 = time.perf_counter()
clf = SdAClassifier(hidden_layers_sizes=(1000, 1000, 1000), random_state=89677)
clf.fit(X_all, y_few, X_val=ds.valid[0], y_val=ds.valid[1])
print(f"| SdAClassifier, 1,000 labels + 49,000 unlabelled rows | {100 * (1 - clf.score(X_test, y_test)):.2f} % | "
      f"{time.perf_counter() - t0:.0f} s |")
