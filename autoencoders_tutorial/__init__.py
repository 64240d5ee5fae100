"""The machinery below the tutorial's models: engine set-up, data, files, loops, images, CLI.

The tutorial's own files (``dA.py``, ``SdA.py``, ``logistic_sgd.py``, ``mlp.py``) sit on
top of this package and import from it; nothing here imports them. One module per
concern (imports flow downwards, ``engine`` at the bottom)::

    engine       PyTensor set-up before its first import, modes, JAX values back to numpy
    jax_backend  every call into JAX: the host-sliced step path, device arrays, the platform
    errors       the error types the command line prints as one line; value checks
    rng          seeds, generators, shared parameters
    images       tile_raster_images, scale_to_unit_interval, filter sheets
    files        atomic writes, .npz parameter files, the metrics log
    download     the checked MNIST download
    datasets     Dataset, readers (pkl.gz, IDX, digits, synthetic), validation, load_data
    graph        sgd_updates, minibatch functions, precomputed rows
    noise        corruption noise drawn on the host (the C op) or on the device (DeviceNoise)
    steps        Steps: what the loops run, one minibatch or a block of them per call
    paths        which of the two paths runs (TrainPath, resolve_path)
    runs         a run's set-up (Run: folder and lock, data, path, metrics) and Ctrl-C
    training     the epoch loop, the early-stopping loop
    supervised   train_classifier: the logistic_sgd.py and mlp.py run
    models       the model classes' files, inference and reconstruction sheets
    checkpoints  where a pretrain-then-fine-tune run stands, saved and restored
    stacked      the SdA's two phases, their options and the script's run
    features     the features table (scikit-learn on raw inputs, codes, both)
    cli          the shared command-line flags and run_cli

Importing this package itself imports nothing heavy (not even PyTensor). Every module
that uses PyTensor imports it through ``engine``, which configures it first; ``errors``,
``files``, ``images`` and ``download`` need only numpy (and pillow).
"""

__version__ = "0.3.0"
