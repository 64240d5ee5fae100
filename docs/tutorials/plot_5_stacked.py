"""
Stacked denoising autoencoders
==============================

One denoising autoencoder (:doc:`plot_4_denoising`) turns pixels into a code of features. Train
a second one on those codes and it finds features of the features; a third, features of
those. Stacked, they make a deep network whose layers were each trained, without labels, to
capture the structure of what comes in from below. Put a classifier on top and train the whole
stack on the labels, and you have the **stacked denoising autoencoder** (SdA) of Vincent et
al. (JMLR 2010): an ordinary deep classifier whose training starts from weights that already
describe the data rather than from random ones.

This page builds the SdA from the library's ``SdA`` class, quoting its source; pretrains it one
layer at a time; fine-tunes only the classifier on top or the whole network; hands its features
to a stronger classifier, alone and beside the raw pixels; and trains it with only a few labels.
Each step gives its numbers: computed here on a small problem when the page is built, and
measured at full size on Fashion-MNIST in the tables at the end of the page. The papers are in
:doc:`/references`.
"""

# %%
# The network
# -----------
#
# The network is a multilayer perceptron with :math:`L` sigmoid hidden layers and a
# logistic regression (a softmax) on top:
#
# .. math::
#
#    h^{(0)} = x, \qquad
#    h^{(k)} = s\!\left(W_k h^{(k-1)} + b_k\right) \quad (k = 1, \dots, L),
#
#    P(Y = i \mid x) = \operatorname{softmax}_i\!\left(V h^{(L)} + c\right).
#
# Each hidden layer :math:`k` is at the same time the encoder of a denoising autoencoder whose
# input is :math:`h^{(k-1)}`: with a decoder bias :math:`b'_k` of its own and the tied decoder
# :math:`W_k^T`, it reconstructs :math:`h^{(k-1)}` from a corrupted copy
# :math:`\tilde h^{(k-1)}`. The autoencoder and the hidden layer *share* :math:`W_k` and
# :math:`b_k`: training either one changes both.
#
# Training has two phases:
#
# 1. **Greedy layer-wise pretraining**, without labels. Train the first layer's dA on the
#    inputs. Then freeze it, compute its codes, and train the second layer's dA on those codes;
#    and so on up the stack. Each layer learns to denoise the representation below it.
#    (Greedy: each layer is trained once, for itself, and never revisited in this phase.)
# 2. **Fine-tuning**, with labels: add the logistic regression on top and train by
#    minibatch SGD on the negative log-likelihood of the labels, with the early stopping of
#    :doc:`plot_1_logistic_regression` and :doc:`plot_2_mlp`. Either the whole network is trained,
#    starting from the pretrained weights, or only the classifier on top, on frozen features.
#
# The ``SdA`` class
# -----------------
#
# :class:`SdA.SdA` builds both views of every layer. In its constructor, after checking its
# arguments, the loop below makes each hidden layer (a :class:`mlp.HiddenLayer` with a sigmoid),
# and a :class:`dA.dA` that is handed that layer's own ``W`` and ``b``: the same shared
# variables, not copies. The logistic regression goes on top of the last hidden layer, and its
# negative log-likelihood is the fine-tuning cost:
#
# .. literalinclude:: /../SdA.py
#    :start-at: for i, n_out in enumerate(hidden_layers_sizes):
#    :end-at: self.errors = self.logLayer.errors(self.y)
#
# ``params`` are the MLP's parameters (each hidden layer's ``W`` and ``b``, then the
# classifier's), the ones fine-tuning trains; the dAs' decoder biases :math:`b'_k` are used
# only in pretraining.
#
# Pretraining: one compiled function per layer
# --------------------------------------------
#
# Pretraining needs one training function per layer. Layer :math:`k`'s dA already has its cost and
# updates (:meth:`dA.dA.get_cost_updates`, on :doc:`the previous page <plot_4_denoising>`); its
# input is the output of the layers below, a graph of the network's input ``sda.x``, so the
# function slices a minibatch of the training set in place of ``sda.x``, as every function of these
# pages does, and runs the lower layers on it. The corruption level and the learning rate are inputs
# of the function, so that one compiled function serves any setting: ``fn(index, corruption, lr)``.
# Step :math:`k` updates only layer :math:`k`'s dA (its ``W``, ``b`` and ``b_prime``); the layers
# below are only read.
#
# Below, after the data and the network (as on the other pages, scikit-learn's 8x8 digits by default,
# ``AUTOENCODERS_DOCS=quick``, and Fashion-MNIST at the sizes of the full-size tables with
# ``AUTOENCODERS_DOCS=full``), the last lines are the tutorial's ``pretraining_functions``.

import os
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.svm import SVC

from SdA import SdA  # import the model files (or the library) before PyTensor: they configure it
import pytensor
from autoencoders_tutorial.datasets import load_dataset, shared_splits
from autoencoders_tools.estimators import SdAClassifier
from autoencoders_tutorial.engine import pt, sync_shared
from autoencoders_tutorial.graph import minibatch_function, n_batches
from autoencoders_tutorial.paths import RunContext
from autoencoders_tutorial.training import early_stopping

MODE = os.environ.get("AUTOENCODERS_DOCS", "quick")
if MODE == "full":   # the sizes of the full-size tables (bench/fashion_runs.sh)
    settings = dict(dataset="fashion-mnist", hidden=(1000, 1000, 1000), corruption=(0.1, 0.2, 0.3),
                    pretrain_epochs=15, max_epochs=100, svc_rows=10_000, n_labels=1000)
else:                # two small layers on the digits, a few seconds each
    settings = dict(dataset="digits", hidden=(100, 100), corruption=(0.1, 0.2),
                    pretrain_epochs=30, max_epochs=100, svc_rows=None, n_labels=100)
batch_size, pretrain_lr, finetune_lr = 20, 0.1, 0.1

ds = load_dataset(settings["dataset"])
datasets = shared_splits(ds)  # [(train_x, train_y), (valid_x, valid_y), (test_x, test_y)], shared
(train_set_x, train_set_y), (valid_set_x, valid_set_y), (test_set_x, test_set_y) = datasets
n_train_batches, n_valid_batches, n_test_batches = (n_batches(x, batch_size) for x, _ in datasets)
print(f"{ds.name}: {len(ds.train[1])} training, {len(ds.valid[1])} validation, {len(ds.test[1])} test images")

sda = SdA(np.random.RandomState(89677), n_ins=ds.n_features, hidden_layers_sizes=settings["hidden"],
          n_outs=ds.n_classes, corruption_levels=settings["corruption"])
initial = [np.array(p.get_value()) for p in sda.all_params]  # kept, to fine-tune from random weights later

corruption_level = pt.scalar("corruption")
learning_rate = pt.scalar("lr")
pretraining_fns = []
for dA_layer in sda.dA_layers:
    cost, updates = dA_layer.get_cost_updates(corruption_level, learning_rate)
    fn = minibatch_function([(sda.x, train_set_x)], cost, batch_size, updates=updates,
                            extra_inputs=(corruption_level, learning_rate))
    pretraining_fns.append(fn)

# %%
# The tutorial's pretraining loop: layer by layer, each for its epochs, at its own corruption level.

t0 = time.perf_counter()
for k, fn in enumerate(pretraining_fns):
    for epoch in range(settings["pretrain_epochs"]):
        c = [fn(index, sda.corruption_levels[k], pretrain_lr) for index in range(n_train_batches)]
    print(f"layer {k}: {settings['hidden'][k]} units, corruption {settings['corruption'][k]:.0%}, "
          f"mean cost after {epoch + 1} epochs {np.mean(c):.3f}")
sync_shared()  # the parameters back as numpy arrays, for the functions below that run on other back ends
print(f"pretraining: {time.perf_counter() - t0:.1f} s")
pretrained = [np.array(p.get_value()) for p in sda.all_params]


def set_weights(values):
    for p, v in zip(sda.all_params, values):
        p.set_value(v)


# %%
# (The costs of different layers are not comparable: each sums the cross-entropy over its own
# inputs, the pixels for layer 0, the codes of the layer below for the others, and those are
# more numerous and differently distributed.)
#
# In the library this is :meth:`SdA.SdA.pretraining_functions`, run by ``pretrain_layers`` in
# ``SdA.py`` with a checkpoint after every epoch (``python SdA.py``). It compiles the same functions,
# with two additions: the corruption level and learning rate may be left out (each layer's own level,
# and 0.1), and with ``precompute_codes=True`` layer :math:`k`'s function computes the codes of the
# frozen layers below once for the whole training set and slices those, instead of running the lower
# layers again for every minibatch; both give the same result.
#
# Fine-tuning: the top, or everything
# -----------------------------------
#
# Fine-tuning is the MLP's training (:doc:`plot_2_mlp`): the cost is the negative log-likelihood
# of the logistic regression on top, ``sda.finetune_cost``, and its error rate ``sda.errors``. The
# tutorial's ``build_finetune_functions`` compiles three functions: one SGD step on the cost, and
# the error rates of the validation and test sets, minibatch by minibatch. ``params`` says which
# parameters the SGD step trains: all of ``sda.params`` (every hidden layer's ``W`` and ``b``, and
# the classifier's), or only ``sda.logLayer.params``, the classifier on top, to keep the pretrained
# features frozen.


def build_finetune_functions(params):
    gparams = pytensor.grad(sda.finetune_cost, params)
    updates = [(param, param - gparam * finetune_lr) for param, gparam in zip(params, gparams)]
    train_fn = minibatch_function([(sda.x, train_set_x), (sda.y, train_set_y)], sda.finetune_cost, batch_size,
                                  updates=updates)
    valid_score_i = minibatch_function([(sda.x, valid_set_x), (sda.y, valid_set_y)], sda.errors, batch_size)
    test_score_i = minibatch_function([(sda.x, test_set_x), (sda.y, test_set_y)], sda.errors, batch_size)

    def valid_score():
        return [valid_score_i(i) for i in range(n_valid_batches)]

    def test_score():
        return [test_score_i(i) for i in range(n_test_batches)]

    return train_fn, valid_score, test_score


# %%
# They run in the early-stopping loop of :doc:`plot_1_logistic_regression`: validate once an epoch,
# keep the parameters of the best validation error and the test error they give, and stop once the
# validation error has not improved for a while (here a patience of 10 epochs, extended whenever it
# improves markedly) or at the epoch cap.
#
# In the library, :meth:`SdA.SdA.build_finetune_functions` compiles these three functions (by
# ``compile_classifier`` in ``autoencoders_tutorial/paths.py``, which can also run many steps per
# call), and :meth:`SdA.SdA.fine_tune` runs them in this loop, ``layers="all"`` or ``"top"``
# (``python SdA.py --finetune all|top``, ``SdAClassifier(finetune=...)``).
#
# Three runs from the same starting points: the pretrained network with only its top trained,
# the pretrained network trained whole, and, for comparison, the same network trained whole
# from its random initial weights, with no pretraining.


def fine_tune(weights, functions, params):
    set_weights(weights)
    train_fn, valid_score, test_score = functions
    t0 = time.perf_counter()
    res = early_stopping(train_fn, n_train_batches, lambda: float(np.mean(valid_score())),
                         lambda: float(np.mean(test_score())), params, n_epochs=settings["max_epochs"],
                         patience=10 * n_train_batches, patience_increase=2.0, improvement_threshold=0.995,
                         context=RunContext(log=lambda *line: None))
    return res.best_validation_loss, res.test_score, res.epochs, time.perf_counter() - t0


whole = build_finetune_functions(sda.params)
top = build_finetune_functions(sda.logLayer.params)
runs = {
    "pretrained, top layer fine-tuned": fine_tune(pretrained, top, sda.logLayer.params),
    "pretrained, whole network fine-tuned": fine_tune(pretrained, whole, sda.params),
    "random initial weights, whole network": fine_tune(initial, whole, sda.params),
}
print(f"{'run':38s} {'validation':>10s} {'test':>7s} {'epochs':>6s}")
for name, (valid_error, test_error, epochs, seconds) in runs.items():
    print(f"{name:38s} {valid_error:10.2%} {test_error:7.2%} {epochs:6d}  ({seconds:.1f} s)")

# %%
# Fine-tuning the whole network is the tutorial's way, and on this small problem pretraining
# may help little or not at all: the digits are easy and, with all labels known, a network
# trained from random weights does well too. Freezing the pretrained features and training only
# the classifier on top usually gives a worse error than training the whole network, which can
# adjust every layer; how much worse says how much the labels still had to teach the lower
# layers. Your numbers are above; the full-size ones
# are in the table at the end of the page.
#
# A stronger classifier on top
# ----------------------------
#
# The logistic regression on top of the stack is the simplest classifier there is. The
# pretrained layers are features like any other, so any classifier can use them:
# :meth:`SdA.SdA.get_codes` gives the codes of any layer (the top by default) for rows of a
# numpy array, and :meth:`SdAClassifier.transform
# <autoencoders_tools.estimators.SdAClassifier.transform>` does the same for the
# estimator. Here a support vector machine (scikit-learn's ``SVC``, RBF kernel, default
# settings) is trained on three sets of features: the raw pixels, the top-layer codes of the
# network *after pretraining only* (no label has touched them), and both side by side
# (``np.hstack``), so that the classifier can use whichever helps.

set_weights(pretrained)
n = settings["svc_rows"] or len(ds.train[1])
(X_train, y_train), (X_test, y_test) = (ds.train[0][:n], ds.train[1][:n]), ds.test
codes_train, codes_test = sda.get_codes(X_train), sda.get_codes(X_test)
feature_sets = {
    "raw pixels": (X_train, X_test),
    "top-layer codes": (codes_train, codes_test),
    "raw pixels + codes": (np.hstack([X_train, codes_train]), np.hstack([X_test, codes_test])),
}
svc_errors = {}
print(f"SVC trained on {n} training images, tested on {len(y_test)}")
for name, (A, B) in feature_sets.items():
    t0 = time.perf_counter()
    svc_errors[name] = np.mean(SVC().fit(A, y_train).predict(B) != y_test)
    print(f"{name:20s} {A.shape[1]:5d} features   test error {svc_errors[name]:6.2%}   "
          f"({time.perf_counter() - t0:.1f} s)")

# %%
# In the quick build, on the digits, the SVC is already excellent on the raw pixels, and codes
# pretrained on 1,078 tiny images do not beat them. At full size, on Fashion-MNIST, the codes
# do help, a little, and a little more beside the pixels (the last table below). The same
# recipe in scikit-learn's own terms is a pipeline,
# ``make_pipeline(DenoisingAutoencoder(...), SVC())``, or with the raw pixels kept,
# ``make_pipeline(make_union(FunctionTransformer(), DenoisingAutoencoder(...)), SVC())``: the
# :doc:`scikit-learn how-to </howto/sklearn>` has it in full, and ``bench/pipeline.py``
# measured it, with a single dA in place of the stack.
#
# Few labels
# ----------
#
# Pretraining needs no labels; fine-tuning does. That split is the point when labels are few and
# unlabelled inputs plenty: pretrain on all of them, fine-tune on the few that are labelled.
# :class:`~autoencoders_tools.estimators.SdAClassifier` does this with scikit-learn's
# convention for semi-supervised learning: a label of -1 marks an unlabelled row. ``fit``
# pretrains on every row of ``X`` and fine-tunes on the labelled ones, early-stopped on
# ``X_val, y_val``. Here only the first few training images keep their labels; the same
# classifier with ``pretraining_epochs=0`` starts fine-tuning from random weights instead (on
# the command line: ``python SdA.py --n-labels N``, with ``--pretrain-epochs 0`` for the
# second).

n_labels = settings["n_labels"]
y_few = np.where(np.arange(len(ds.train[1])) < n_labels, ds.train[1], -1)
print(f"{n_labels} labelled and {np.sum(y_few == -1)} unlabelled training images")
few_errors = {}
for pretraining_epochs in (settings["pretrain_epochs"], 0):
    t0 = time.perf_counter()
    clf = SdAClassifier(hidden_layers_sizes=settings["hidden"], corruption_levels=settings["corruption"],
                        pretraining_epochs=pretraining_epochs, max_epochs=settings["max_epochs"],
                        random_state=89677)
    clf.fit(ds.train[0], y_few, X_val=ds.valid[0], y_val=ds.valid[1])
    what = f"pretrained on all {len(y_few)} images" if pretraining_epochs else "random initial weights"
    few_errors[what] = 1 - clf.score(*ds.test)
    print(f"{what:35s} test error {few_errors[what]:6.2%}   ({time.perf_counter() - t0:.1f} s)")

# %%
# All the test errors of this page's runs, side by side:

groups = [("SdA, all labels", {name: test for name, (_, test, _, _) in runs.items()}),
          ("SVC", svc_errors),
          (f"SdAClassifier, {n_labels} labels", few_errors)]
labels, errors, colours = [], [], []
for colour, (group, results) in zip(("tab:blue", "tab:orange", "tab:green"), groups):
    for name, error in results.items():
        labels.append(f"{group}: {name}")
        errors.append(100 * error)
        colours.append(colour)
fig, ax = plt.subplots(figsize=(8, 0.4 * len(labels) + 1))
ax.barh(range(len(labels)), errors, color=colours)
ax.set_yticks(range(len(labels)), labels, fontsize=9)
ax.invert_yaxis()
for i, e in enumerate(errors):
    ax.text(e, i, f" {e:.2f}%", va="center", fontsize=8)
ax.set_xlabel(f"test error (%), {ds.name}")
ax.set_xlim(0, max(errors) * 1.18)
fig.tight_layout()
plt.show()

# %%
# With few labels the pretrained network is expected to do markedly better: its features were
# learned from all the images, while the network started from random weights has only the
# few labelled ones to learn everything from. At full size, with 1,000 labels out of 50,000
# images, pretraining lowers the test error by 3.6 points (below).
#
# At full size
# ------------
#
# The same steps on Fashion-MNIST, at the tutorial's sizes: three hidden layers of 1,000 units,
# corruption 0.1, 0.2 and 0.3, 15 pretraining epochs per layer (at learning rate 0.1 with
# minibatches of 20: the SdA tutorial's 0.001 was meant for minibatches of one), fine-tuning
# of the whole network at 0.1. All labels, the first 1,000 labels after pretraining on all
# 50,000 images, and the first 1,000 without pretraining:
#
# .. results-table:: /results/sda_fashion.json
#
# For comparison, the MLP of ``mlp.py`` (one hidden layer of 500 units, trained on all labels
# from random weights) reaches 11.73% test error on the same data; the pretrained SdA, 10.38%.
# With 1,000 labels, pretraining on the unlabelled images lowers the test error from 21.49% to
# 17.86%.
#
# The features of the pretrained network, before fine-tuning, handed to a scikit-learn
# logistic regression, against the raw pixels and both together:
#
# .. results-table:: /results/features_fashion.json
#
# The learned codes beat the raw pixels by 3.7 points for this linear classifier; adding the
# pixels to the codes did not help it further. And the scikit-learn pipelines: an SVC on the
# raw pixels, on a single dA's codes, on both, and the ``SdAClassifier`` with 1,000 labels:
#
# .. results-table:: /results/pipeline_fashion.json
#
# The SVC, a much stronger classifier than a logistic regression, gains less from learned
# features: on a single dA's codes it makes 14.31% test errors, against 14.69% on the raw
# pixels, and 14.20% on both.
