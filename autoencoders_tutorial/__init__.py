"""The machinery below the tutorial's models: engine set-up, data, graphs, steps, loops, files, runs, the CLI.

The house has three layers, each importing only the ones below it, always at the top of a module
(``tests/test_layers.py`` reads every import and keeps it so; ``docs/explanation/architecture.md`` is the
page to read first):

1. this package, the machinery: it imports no model file and no application;
2. the tutorial's model files at the top of a clone (``logistic_sgd.py``, ``mlp.py``, ``dA.py``,
   ``SdA.py``), which import only this package;
3. the applications, :mod:`autoencoders_tools` (the scikit-learn estimators, the sweep, the plot).

One module per concern, from the bottom up::

    errors       the error types the command line prints as one line; value checks
    memory       the memory available, and the one-line refusal of what cannot fit, before allocating
    interrupts   Ctrl-C held while a file is written or a loop reaches a clean point
    userfiles    the one guarded way in for every file a user hands over (a regular file, its size, then its schema)
    files        atomic writes, .npz parameter files, the metrics log, output folders
    engine       PyTensor set-up before its first import, modes, JAX values back to numpy
    rng          seeds, generators, shared parameters
    readers      the dataset files' readers (pkl.gz, IDX, digits, synthetic) and Dataset
    noise        corruption noise drawn on the host (the C op) or on the device (DeviceNoise)
    jax_backend  every call into JAX: the host-sliced step path, device arrays, the platform
    graph        sgd_updates, minibatch functions
    steps        Steps: what the loops ask of a compiled step, declared once (the step path); PrecomputedRows
    ondisk       training rows on disk (.npy memory map, Zarr, Dask): read a window at a time, checked, streamed
    blocks       the block path: BlockSteps, K steps per compiled call, with the noise they draw
    paths        which path runs (TrainPath, resolve_path), the RunContext, training_function, compile_classifier
    images       tile_raster_images, scale_to_unit_interval, filter sheets, frame_ink (a drawing framed as a dataset's)
    download     the checked MNIST download
    datasets     which file a dataset name means, its checks, load_data and shared variables
    training     the epoch loop, the early-stopping loop
    runs         a run's set-up (Run: folder and lock, data, context, metrics) and Ctrl-C
    checkpoints  where a pretrain-then-fine-tune run stands, saved and restored; Checkpoints, what run_SdA calls
    modelfiles   the model files' one schema, the dA's and SdA's save and load
    inference    codes, predictions and reconstruction sheets of a built model (cached host functions)
    features     the features table (scikit-learn on raw inputs, codes, both)
    predict      predictions on a user's own images, .npy / .csv rows or a dataset; the scripts' predict
    cli          the shared command-line flags, run_cli and the --predict tail
    estimators   where pickles of versions up to 0.3 find the estimators (now in autoencoders_tools)

Importing this package itself imports nothing heavy (not even PyTensor). Every module
that uses PyTensor imports it through ``engine``, which configures it first; ``errors``, ``memory``,
``interrupts``, ``userfiles``, ``files``, ``images`` and ``download`` need only numpy (and pillow).
"""

__version__ = "0.4.0"
