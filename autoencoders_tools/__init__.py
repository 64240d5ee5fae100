"""What a user builds on the tutorial's models: scikit-learn estimators, hyper-parameter sweeps, plots.

The top layer of the house (``docs/explanation/architecture.md``): these modules import the model files
(``dA.py``, ``SdA.py``) and the machinery (:mod:`autoencoders_tutorial`) at their tops, and nothing below
imports them::

    estimator_base  what both estimators share: floatX scope, input scaling, fitted state, .npz files
    sda_classifier  SdAClassifier: the SdA as a semi-supervised classifier
    estimators      DenoisingAutoencoder, and both estimators' public names
    sweep           hyper-parameter sweeps of the SdAClassifier on one machine or a Dask cluster
                    (``autoencoders-sweep``)
    plot            learning curves from a run's metrics.jsonl (``autoencoders-plot``)
"""
