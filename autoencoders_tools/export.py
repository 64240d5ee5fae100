"""Export trained models to ONNX: codes, reconstructions, class probabilities and labels without PyTensor.

``export(model, path)`` (``autoencoders-export MODEL.npz OUT.onnx``) writes, atomically, the clean forward pass (no
training, no noise) of a built model (``dA``, ``SdA``, ``LogisticRegression``, ``MLP``), of a fitted estimator (its
input scaling in front), or of the file any script or estimator saved. Input ``X`` (rows by features, the batch
dimension dynamic), in the model's precision unless ``precision`` is given; outputs ``codes`` and ``reconstruction``
(the dA kinds), or ``codes_0`` ... ``codes_<top>``, ``probabilities`` and ``labels`` (the SdA kinds; the logistic
regression and MLP give the last two); ``decoder=True``: a dA's decoder alone, ``codes`` in, ``reconstruction`` out.
The model's kind and options are the file's metadata. Importing this module registers both estimators with skl2onnx
(when installed), so that ``skl2onnx.to_onnx`` converts a pipeline holding them. The ONNX packages are the ``onnx``
extra: ``pip install -e ".[onnx]"`` (``docs/howto/export.md``).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import dA as dA_module
import logistic_sgd
import mlp
import SdA as SdA_module
from autoencoders_tutorial.cli import command_parser, run_cli
from autoencoders_tutorial.errors import DataError, TutorialError
from autoencoders_tutorial.files import atomic_write_bytes, load_params, params_to_arrays
from autoencoders_tutorial.modelfiles import read_classifier, read_dA, read_SdA

from .estimators import DenoisingAutoencoder, SdAClassifier

ONNX_EXTRA = "pip install onnx onnxruntime skl2onnx (the onnx extra)"
#: The ONNX operator set and file format the graphs use: opset 17 (2022) runs on every current runtime.
OPSET, IR_VERSION = 17, 8
ESTIMATORS = {"DenoisingAutoencoder": DenoisingAutoencoder, "SdAClassifier": SdAClassifier}


@dataclass
class Net:
    """A trained model as the arrays its forward pass needs, whatever it was read from."""

    kind: str
    layers: list = field(default_factory=list)  # (W, b, activation) from the input up; each gives codes
    head: tuple | None = None                    # (W, b) of the softmax layer
    decoder: tuple | None = None                 # (W', b', activation) of a dA's reconstruction
    scale: tuple | None = None                   # (data_min, data_range), or () to clip into [0, 1]
    classes: np.ndarray | None = None            # the labels the softmax's columns stand for
    options: dict = field(default_factory=dict)


def _dA_net(kind, arrays, decoder, options) -> Net:
    W = arrays["W"]
    return Net(kind, [(W, arrays["b"], "sigmoid")], decoder=(arrays.get("W_prime", W.T), arrays["b_prime"], decoder),
               options=dict(options, decoder=decoder, tied_weights="W_prime" not in arrays))


def _stack_net(kind, arrays, options) -> Net:
    """An SdA's arrays (``layer<i>.W``/``.b`` and ``logreg.W``/``.b``, as its files and ``all_params`` name them)."""
    n = sum(1 for k in arrays if k.startswith("layer") and k.endswith(".W"))
    layers = [(arrays[f"layer{i}.W"], arrays[f"layer{i}.b"], "sigmoid") for i in range(n)]
    return Net(kind, layers, head=(arrays["logreg.W"], arrays["logreg.b"]), options=options)


def _layer_arrays(layer):
    return np.asarray(layer.W.get_value()), np.asarray(layer.b.get_value())


def _estimator_net(est) -> Net:
    try:
        check_is_fitted(est)
    except NotFittedError:
        raise TutorialError(f"this {type(est).__name__} is not fitted; fit it (or load a fitted one) before "
                            "exporting") from None
    arrays = {k.split(".", 1)[1] if k.startswith("dA.") else k: v for k, v in est.params_.items()}
    options = {k: v for k, v in est.get_params().items() if isinstance(v, (str, int, float, bool, list, tuple))}
    if isinstance(est, DenoisingAutoencoder):
        net = _dA_net("DenoisingAutoencoder", arrays, est.decoder, options)
    else:
        net = _stack_net("SdAClassifier", arrays, options)
        net.classes = np.asarray(est.classes_)
    if getattr(est, "loss", "cross_entropy") == "cross_entropy":  # inputs it scales, or clips, into [0, 1]
        net.scale = () if getattr(est, "data_min_", None) is None else (est.data_min_, est.data_range_)
    return net


def as_net(model) -> Net:
    """The :class:`Net` of a built model, a fitted estimator, or a saved model or estimator file."""
    if isinstance(model, (DenoisingAutoencoder, SdAClassifier)):
        return _estimator_net(model)
    if isinstance(model, dA_module.dA):
        arrays = {p.name.split(".", 1)[1]: np.asarray(p.get_value()) for p in model.params}
        return _dA_net("dA", arrays, model.decoder, {"loss": model.loss})
    if isinstance(model, SdA_module.SdA):
        sizes = list(model.hidden_layers_sizes)
        return _stack_net("SdA", params_to_arrays(model.params), {"hidden_layers_sizes": sizes})
    if isinstance(model, mlp.MLP):
        return Net("MLP", [(*_layer_arrays(model.hiddenLayer), "tanh")], head=_layer_arrays(model.logRegressionLayer))
    if isinstance(model, logistic_sgd.LogisticRegression):
        return Net("LogisticRegression", head=_layer_arrays(model))
    if isinstance(model, (str, Path)):
        return _file_net(Path(model))
    raise TutorialError(f"cannot export a {type(model).__name__}: give a dA, SdA, LogisticRegression, MLP, a "
                        "fitted DenoisingAutoencoder or SdAClassifier, or the path of a file one of them saved")


def _file_net(path) -> Net:
    kind = load_params(path)[1].get("model")  # the file comes in through the guarded reader, then its schema
    if kind in ESTIMATORS:
        return _estimator_net(ESTIMATORS[kind].load(path))
    if kind == "dA":
        arrays, meta = read_dA(path)
        return _dA_net("dA", arrays, meta.get("decoder", "sigmoid"), {"loss": meta.get("loss", "cross_entropy")})
    if kind == "SdA":
        arrays, meta = read_SdA(path)
        return _stack_net("SdA", arrays, meta["config"])
    if kind in ("LogisticRegression", "MLP"):
        a = read_classifier(path, kind)[0]
        hidden = [(a["hidden.W"], a["hidden.b"], "tanh")] if kind == "MLP" else []
        return Net(kind, hidden, head=(a["logreg.W"], a["logreg.b"]))
    raise DataError(f"{path} is not a saved model (model={kind!r}): export takes the files dA.py, SdA.py, "
                    "logistic_sgd.py, mlp.py and the estimators save")


_ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh"}


def emit(net, dtype, node, const, names, decoder=False, prefix=""):
    """Write ``net``'s forward pass in ``dtype`` through ``node(op, inputs, output, **attributes)`` and
    ``const(name, array)``. ``names`` maps the graph's own tensors to the caller's: its input ``X`` (or
    ``codes``, for the ``decoder`` alone), and the outputs wanted (``codes``, ``codes_<i>``,
    ``reconstruction``, ``probabilities``, ``labels``); every other tensor is named ``prefix + name``."""

    def t(name):
        return names.get(name, prefix + name)

    def c(name, value):
        const(prefix + name, np.asarray(value, dtype))
        return prefix + name

    def dense(x, W, b, activation, out):
        a = node("Add", [node("MatMul", [x, c(f"{out}.W", W)], t(f"{out}.xW")), c(f"{out}.b", b)],
                 t(out if activation == "linear" else f"{out}.a"))
        return a if activation == "linear" else node(_ACTIVATIONS[activation], [a], t(out))

    x = names["codes" if decoder else "X"]
    if net.scale is not None and not decoder:
        if net.scale:
            x = node("Div", [node("Sub", [x, c("data_min", net.scale[0])], t("X.shifted")),
                             c("data_range", net.scale[1])], t("X.ranged"))
        x = node("Clip", [x, c("zero", 0), c("one", 1)], t("X.scaled"))
    for i, layer in enumerate([] if decoder else net.layers):
        x = dense(x, *layer, "codes" if net.decoder else f"codes_{i}")
    if decoder or net.decoder and "reconstruction" in names:
        z = dense(x, *net.decoder, "reconstruction.scaled" if net.scale else "reconstruction")
        if net.scale:  # back into the fitted range, as inverse_transform gives it
            node("Add", [node("Mul", [z, c("data_range", net.scale[1])], t("reconstruction.ranged")),
                         c("data_min", net.scale[0])], t("reconstruction"))
    if decoder or net.decoder:
        return
    p = node("Softmax", [dense(x, *net.head, "linear", "scores")], t("probabilities"), axis=1)
    index = node("ArgMax", [p], t("labels" if net.classes is None else "labels.index"), axis=1, keepdims=0)
    if net.classes is not None:
        const(prefix + "classes", _labels_array(net.classes))
        node("Gather", [prefix + "classes", index], t("labels"))


def _labels_array(classes):
    """The classes as an ONNX tensor can hold them: integers as int64, numbers as double, else text."""
    c = np.asarray(classes)
    if c.dtype.kind in "iubf":
        return c.astype(np.float64 if c.dtype.kind == "f" else np.int64)
    return np.array([str(v) for v in c.ravel()], dtype=object)


def to_onnx(model, precision=None, decoder=False):
    """The ONNX ``ModelProto`` of ``model`` (see the module's docstring), in ``precision`` ("float32",
    "float64"; default: the model's own)."""
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise TutorialError(f"exporting to ONNX needs the onnx package: {ONNX_EXTRA}") from None
    net = as_net(model)
    if decoder and net.decoder is None:
        raise TutorialError(f"decoder=True exports a dA's decoder; a {net.kind} has none")
    if precision not in (None, "float32", "float64"):
        raise TutorialError(f"precision must be float32 or float64, got {precision!r}")
    first_W = (net.layers or [net.head])[0][0]
    dtype = np.dtype(precision or first_W.dtype)
    if net.classes is not None:
        net.classes = _labels_array(net.classes)
    nodes, inits = [], {}

    def node(op, inputs, output, **attributes):
        nodes.append(helper.make_node(op, list(inputs), [output], name=f"{op}_{len(nodes)}", **attributes))
        return output

    def const(name, value):
        inits.setdefault(name, numpy_helper.from_array(value, name))

    inp = "codes" if decoder else "X"
    emit(net, dtype, node, const, {inp: inp, "reconstruction": "reconstruction"}, decoder=decoder)
    if decoder or net.decoder is not None:  # the float outputs' names and widths, then the labels
        outputs = [("codes", net.layers[0][0].shape[1])] * (not decoder) + [("reconstruction", net.decoder[0].shape[1])]
    else:
        outputs = [*((f"codes_{i}", W.shape[1]) for i, (W, _, _) in enumerate(net.layers) if net.kind != "MLP"),
                   ("probabilities", net.head[0].shape[1])]
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    values = [helper.make_tensor_value_info(o, elem, ["N", w]) for o, w in outputs]
    if net.head is not None:
        labels = np.dtype(np.int64) if net.classes is None else net.classes.dtype
        values.append(helper.make_tensor_value_info("labels", onnx.TensorProto.STRING if labels == object
                                                    else helper.np_dtype_to_tensor_dtype(labels), ["N"]))
    width = net.decoder[0].shape[0] if decoder else first_W.shape[0]
    graph = helper.make_graph(nodes, net.kind, [helper.make_tensor_value_info(inp, elem, ["N", width])], values,
                              list(inits.values()))
    model_proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                    producer_name="autoencoders_tutorial", ir_version=IR_VERSION)
    meta = {"model": net.kind, "part": "decoder" if decoder else "forward", "precision": dtype.name,
            "options": json.dumps(net.options, default=str, sort_keys=True)}
    if net.classes is not None:
        meta["classes"] = json.dumps(net.classes.tolist())
    helper.set_model_props(model_proto, meta)
    onnx.checker.check_model(model_proto)
    return model_proto


def export(model, path, precision=None, decoder=False) -> Path:
    """Write ``model``'s ONNX graph (:func:`to_onnx`) to ``path``, atomically; returns the path."""
    path = Path(path)
    if path.is_dir():
        raise TutorialError(f"{path} is a folder; give the file to write, e.g. {path / 'model.onnx'}")
    atomic_write_bytes(path, to_onnx(model, precision=precision, decoder=decoder).SerializeToString())
    return path


def _convert(scope, operator, container):
    """skl2onnx's converter of both estimators: the same graph, in the pipeline's names and precision."""
    from skl2onnx.common.data_types import guess_numpy_type
    from onnx import numpy_helper

    est, net = operator.raw_operator, _estimator_net(operator.raw_operator)
    names = dict(zip(["labels", "probabilities"] if isinstance(est, SdAClassifier) else ["codes"],
                     [o.full_name for o in operator.outputs]))

    def node(op, inputs, output, **attributes):
        container.add_node(op, list(inputs), [output], name=scope.get_unique_operator_name(op), **attributes)
        return output

    def const(name, value):
        container.initializers.append(numpy_helper.from_array(value, name))

    prefix = scope.get_unique_variable_name(type(est).__name__) + "."
    emit(net, guess_numpy_type(operator.inputs[0].type), node, const, {"X": operator.inputs[0].full_name, **names},
         prefix=prefix)


def register_skl2onnx() -> bool:
    """Register both estimators' converters with skl2onnx; False when it is not installed."""
    try:
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    except ImportError:
        return False

    def _transformer_shape(operator):
        x = operator.inputs[0]
        operator.outputs[0].type = type(x.type)([x.get_first_dimension(), operator.raw_operator.n_hidden])
    update_registered_converter(DenoisingAutoencoder, "AutoencodersTutorialDenoisingAutoencoder",
                                _transformer_shape, _convert)
    update_registered_converter(SdAClassifier, "AutoencodersTutorialSdAClassifier",
                                calculate_linear_classifier_output_shapes, _convert,
                                options={"zipmap": [True, False, "columns"], "nocl": [True, False]})
    return True


register_skl2onnx()


def build_parser() -> argparse.ArgumentParser:
    p = command_parser("autoencoders-export", "autoencoders_tools.export", (__doc__ or "").strip().splitlines()[0],
                       "SdA_out/SdA_model.npz sda.onnx")
    p.add_argument("model", help="a model file a script saved (dA.py, SdA.py, logistic_sgd.py, mlp.py) or an "
                                 "estimator's .npz")
    p.add_argument("path", type=Path, help="the .onnx file to write")
    p.add_argument("--precision", choices=("float32", "float64"), default=None,
                   help="the graph's float type (default: the model's own)")
    p.add_argument("--decoder", action="store_true", help="a dA's decoder alone: codes in, reconstruction out")
    return p


def main(argv=None) -> int:
    return run_cli(build_parser(), argv, lambda **options: print(f"wrote {export(**options)}"))


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["as_net", "export", "main", "register_skl2onnx", "to_onnx"]
