"""userfiles: every file a user hands over comes in through one guarded door; each hostile kind is one line."""

import gzip
import io
import json
import os
import re
import zipfile

import numpy as np
import pytest

import logistic_sgd
import mlp
from autoencoders_tutorial import userfiles
from autoencoders_tutorial.errors import DataError
from autoencoders_tutorial.files import load_params, save_params
from autoencoders_tutorial.modelfiles import read_classifier, read_dA, read_SdA
from autoencoders_tutorial.predict import array_rows, image_rows
from autoencoders_tutorial.readers import load_mnist_pkl, read_idx
from autoencoders_tools.plot import read_metrics
from autoencoders_tools.sweep import read_grid
from dA import dA
from SdA import SdA

#: Every reader of a file a user hands over, as ``(what it reads, read(path))``.
READERS = {
    "model file": lambda p: load_params(p),
    "image": lambda p: image_rows(p, (4, 4)),
    ".npy rows": lambda p: array_rows(p.with_suffix(".npy") if p.suffix != ".npy" else p, 16),
    ".csv rows": lambda p: array_rows(p, 16),
    "grid file": read_grid,
    "metrics file": lambda p: read_metrics(p),
    "IDX file": read_idx,
    "pkl.gz dataset": load_mnist_pkl,
}


def _fifo(tmp_path, name):
    path = tmp_path / name
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("kind, make, words", [
    ("FIFO", lambda d, n: _fifo(d, n), "is a named pipe (FIFO), not a file"),
    ("folder", lambda d, n: (d / n).mkdir() or d / n, "is a folder, not a file"),
    ("/dev/zero link", lambda d, n: (d / n).symlink_to("/dev/zero") or d / n, "is a device, not a file"),
])
def test_what_is_not_a_file_is_one_line_naming_it(tmp_path, reader, kind, make, words):
    suffix = {"image": ".png", ".npy rows": ".npy", ".csv rows": ".csv", "grid file": ".toml",
              "metrics file": ".jsonl", "IDX file": ".gz", "pkl.gz dataset": ".pkl.gz"}.get(reader, ".npz")
    path = make(tmp_path, "input" + suffix)
    with pytest.raises(DataError, match=re.escape(words)) as info:
        READERS[reader](path)  # a FIFO would hang here, /dev/zero never end
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_gzip_bomb_stops_at_its_cap(tmp_path):
    bomb = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        f.write(b"\0" * (3 << 20))
    with pytest.raises(DataError, match="unpacks to more than 1048576 bytes"):
        userfiles.gunzip(bomb, max_bytes=1 << 20)
    assert len(userfiles.gunzip(bomb, max_bytes=4 << 20)) == 3 << 20


def _npy_claiming(shape):
    """A .npy whose header claims ``shape`` of float64 but holds 8 bytes."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buf.getvalue() + b"\0" * 8


def test_a_npy_header_claiming_46_TiB_is_refused_before_reading(tmp_path):
    path = tmp_path / "rows.npy"
    path.write_bytes(_npy_claiming((1 << 21, 1 << 21, 12)))  # 46 TiB of float64
    with pytest.raises(DataError, match=r"its header says .* the file has 8; it is truncated"):
        array_rows(path, 16)


def test_a_model_file_whose_array_header_lies_is_refused_before_reading(tmp_path):
    path = tmp_path / "best_model.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("logreg.W.npy", _npy_claiming((1 << 21, 1 << 21, 12)))
        zf.writestr("__meta__.npy", _npy_claiming((8,))[:-8] + b"\0" * 64)
    with pytest.raises(DataError, match="array 'logreg.W' claims .* the file is damaged"):
        load_params(path)


def test_a_huge_image_is_one_line(tmp_path, monkeypatch):
    from PIL import Image

    Image.new("L", (40, 40)).save(tmp_path / "big.png")
    monkeypatch.setattr("autoencoders_tutorial.predict.MAX_PIXELS", 1000)
    with pytest.raises(DataError, match=r"big.png is 40x40 pixels, more than the 1000"):
        image_rows(tmp_path / "big.png", (4, 4))


def test_a_file_too_large_for_its_kind_is_refused_by_its_size(tmp_path):
    (tmp_path / "grid.toml").write_bytes(b"#" * 100)
    with pytest.raises(DataError, match="grid file .* is 100 bytes, more than the 10"):
        userfiles.read_bytes(tmp_path / "grid.toml", "grid file", max_bytes=10)


# -- the four model kinds' one schema ------------------------------------------------------------------


def _model_files(tmp_path):
    """name -> (path of a good file of that kind, its reader, the name of one of its weight matrices)."""
    files = {}
    rng = np.random.default_rng(0)
    lr = {"logreg.W": rng.random((16, 3), dtype=np.float32), "logreg.b": np.zeros(3, np.float32)}
    files["LogisticRegression"] = (save_params(tmp_path / "lr.npz", lr, model="LogisticRegression"),
                                   lambda p: read_classifier(p, "LogisticRegression"), "logreg.W")
    ml = {"hidden.W": rng.random((16, 5), dtype=np.float32), "hidden.b": np.zeros(5, np.float32),
          "logreg.W": rng.random((5, 3), dtype=np.float32), "logreg.b": np.zeros(3, np.float32)}
    files["MLP"] = (save_params(tmp_path / "mlp.npz", ml, model="MLP", n_hidden=5), lambda p: read_classifier(p, "MLP"),
                    "hidden.W")
    files["dA"] = (dA(0, n_visible=16, n_hidden=4).save(tmp_path / "da.npz"), read_dA, "W")
    files["SdA"] = (SdA(0, n_ins=16, hidden_layers_sizes=(4,), n_outs=3, corruption_levels=(0.1,)).save(
        tmp_path / "sda.npz"), read_SdA, "layer0.W")
    return files


@pytest.mark.parametrize("model", ["LogisticRegression", "MLP", "dA", "SdA"])
@pytest.mark.parametrize("dtype, words", [("float16", "<f2"), ("int64", "<i8"), ("bool", "|b1"), (">f4", ">f4")])
def test_weights_of_a_dtype_no_model_computes_in_are_one_line(tmp_path, model, dtype, words):
    path, read, name = _model_files(tmp_path)[model]
    arrays, meta = load_params(path)
    arrays[name] = arrays[name].astype(dtype)
    bad = save_params(tmp_path / "bad.npz", arrays, **{k: v for k, v in meta.items() if k != "format_version"})
    with pytest.raises(DataError, match=rf"array '{name}' is {re.escape(words)} \(.*\), not float32 or float64"):
        read(bad)
    read(path)  # the good file passes


@pytest.mark.parametrize("model", ["LogisticRegression", "MLP", "dA", "SdA"])
def test_weights_of_no_columns_are_one_line_naming_the_file(tmp_path, model):
    path, read, name = _model_files(tmp_path)[model]
    arrays, meta = load_params(path)
    arrays[name] = arrays[name][:, :0]
    bad = save_params(tmp_path / "bad.npz", arrays, **{k: v for k, v in meta.items() if k != "format_version"})
    with pytest.raises(DataError, match="bad.npz"):
        read(bad) if model != "dA" else dA.load(bad)


@pytest.mark.parametrize("script", [logistic_sgd, mlp])
def test_predict_with_integer_weights_is_refused_not_truncated(tmp_path, capsys, script):
    model = "LogisticRegression" if script is logistic_sgd else "MLP"
    path, _, name = _model_files(tmp_path)[model]
    arrays, meta = load_params(path)
    arrays[name] = np.ones_like(arrays[name], dtype=np.int64)
    (tmp_path / "out").mkdir()
    save_params(tmp_path / "out" / "best_model.npz", arrays, **{k: v for k, v in meta.items() if k != "format_version"})
    np.save(tmp_path / "rows.npy", np.full((2, 16), 0.5))
    rc = script.main(["--predict", str(tmp_path / "rows.npy"), "--output-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err and f"array '{name}' is <i8" in err, err


def test_grid_and_metrics_readers_still_read_good_files(tmp_path):
    (tmp_path / "grid.json").write_text(json.dumps({"grid": {"finetune_lr": [0.1]}}))
    assert read_grid(tmp_path / "grid.json")[1] == {"finetune_lr": [0.1]}
    (tmp_path / "m.jsonl").write_text(json.dumps({"run": "a", "phase": "x", "epoch": 0, "cost": 1.0}) + "\n")
    assert read_metrics(tmp_path / "m.jsonl")[0] == "a"


def test_a_gzip_bomb_in_the_data_folder_stops_at_its_default_cap(tmp_path, monkeypatch):
    bomb = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        f.write(b"\0" * (8 << 20))  # 8 MiB of zeros in a few KB
    monkeypatch.setattr(userfiles, "MAX_GZIP_RATIO", 2)
    monkeypatch.setitem(userfiles.MAX_BYTES, "dataset", 4 << 20)  # below the 256 MiB floor: the kind's cap holds
    with pytest.raises(DataError, match="unpacks to more than 4194304 bytes"):
        read_idx(bomb)
