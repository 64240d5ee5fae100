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
    export          trained models and estimators as ONNX graphs, and skl2onnx's converters
                    (``autoencoders-export``)
"""

import os
import sys

if sys.argv[:1] == ["-m"] and os.path.dirname(os.path.dirname(os.path.abspath(__file__))) != os.getcwd():
    # Run as ``python -m autoencoders_tools.<command>``, Python puts the current folder first on the path,
    # where a user's own folder or file named like a model file (``mlp/``, ``dA.py``) would be imported
    # in place of the tutorial's: by this process and by the sweep's workers, who start with its path.
    # Every command imports its own modules, so the current folder is taken off (unless it is this checkout).
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.getcwd()]
