"""datasets: IDX and pkl.gz readers, the restricted unpickler, digits, synthetic, load_data, selection."""

import gzip
import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytensor
import pytest
from helpers import idx_dir, write_idx

from autoencoders_tutorial import datasets, download


@pytest.mark.parametrize("compress", [True, False])
def test_idx_reader_and_split(tmp_path, compress):
    d = idx_dir(tmp_path, compress)
    raw = datasets.read_idx(next(d.glob("train-images*")))
    ds = datasets.load_idx_dataset(d, n_valid=10)
    assert ds.train[0].shape == (20, 6) and ds.valid[0].shape == (10, 6) and ds.test[0].shape == (7, 6)
    assert ds.train[0].dtype == np.float32 and ds.image_shape == (3, 2)
    np.testing.assert_allclose(ds.valid[0], raw[20:].reshape(10, 6) / 255.0, rtol=1e-6)
    assert ds.train[0].min() >= 0 and ds.train[0].max() <= 1


def test_idx_wrong_magic_truncated_and_corrupt_gzip(tmp_path):
    bad = tmp_path / "bad-idx"
    bad.write_bytes(b"\x00\x01\x08\x01" + b"\x00" * 8)
    with pytest.raises(datasets.DataError, match="wrong magic number"):
        datasets.read_idx(bad)
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    good = write_idx(tmp_path / "a-idx", arr, False)
    good.write_bytes(good.read_bytes()[:-3])
    with pytest.raises(datasets.DataError, match="truncated"):
        datasets.read_idx(good)
    gz = write_idx(tmp_path / "b-idx.gz", arr, True)
    gz.write_bytes(gz.read_bytes()[:-6])
    with pytest.raises(datasets.DataError, match="corrupt or truncated"):
        datasets.read_idx(gz)
    junk = tmp_path / "c-idx.gz"
    junk.write_bytes(b"not gzip at all")
    with pytest.raises(datasets.DataError, match="corrupt or truncated"):
        datasets.read_idx(junk)


def _pkl_gz(path, obj, protocol=2):
    with gzip.open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)
    return path


@pytest.mark.parametrize("protocol", [2, 5])
def test_mnist_pkl_reader(tmp_path, protocol):
    rng = np.random.default_rng(0)
    splits = tuple((rng.random((n, 16)).astype(np.float32), rng.integers(0, 10, n)) for n in (10, 4, 5))
    ds = datasets.load_mnist_pkl(_pkl_gz(tmp_path / "mnist.pkl.gz", splits, protocol))
    for got, want in zip(ds.splits, splits):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    assert ds.image_shape == (4, 4)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_malicious_pickle_is_refused(tmp_path, capsys):
    path = _pkl_gz(tmp_path / "evil.pkl.gz", ((_Evil(), None), (None, None), (None, None)))
    with pytest.raises(datasets.DataError, match=r"refusing to load (__builtin__|builtins)\.print"):
        datasets.load_mnist_pkl(path)
    assert "pwned" not in capsys.readouterr().out


def test_pkl_wrong_structure_and_corrupt(tmp_path):
    with pytest.raises(datasets.DataError, match="three"):
        datasets.load_mnist_pkl(_pkl_gz(tmp_path / "a.pkl.gz", (np.zeros(3),)))
    p = tmp_path / "b.pkl.gz"
    p.write_bytes(b"garbage")
    with pytest.raises(datasets.DataError, match="corrupt"):
        datasets.load_mnist_pkl(p)
    rng = np.random.default_rng(0)
    splits = ((rng.random((3, 4)), np.arange(3)), (rng.random((2, 5)), np.arange(2)), (rng.random((2, 4)), np.arange(2)))
    with pytest.raises(datasets.DataError, match="different widths"):
        datasets.load_mnist_pkl(_pkl_gz(tmp_path / "c.pkl.gz", splits))


def test_digits_and_synthetic():
    ds = datasets.load_digits_dataset()
    assert ds.n_features == 64 and ds.image_shape == (8, 8) and ds.n_classes == 10
    assert ds.train[0].min() >= 0 and ds.train[0].max() <= 1
    again = datasets.load_digits_dataset()
    np.testing.assert_array_equal(ds.test[0], again.test[0])
    assert sum(len(s[1]) for s in ds.splits) == 1797
    syn = datasets.make_synthetic()
    assert syn.train[0].shape == (200, 16) and syn.n_classes == 3


def test_load_data_shared_types(tiny):
    with pytensor.config.change_flags(floatX="float32"):
        (tx, ty), (vx, vy), (sx, sy) = datasets.load_data(tiny)
        assert tx.get_value().dtype == np.float32 and ty.get_value().dtype == np.int32
        assert sx.get_value().shape == (50, 16)


def test_dataset_selection_errors(tmp_path, monkeypatch):
    with pytest.raises(datasets.DataError, match="MNIST not found: put mnist.pkl.gz"):
        datasets.load_dataset("mnist", data_root=tmp_path, download_ok=False)
    monkeypatch.setattr(datasets, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "nothing")
    with pytest.raises(datasets.DataError, match="apt-get install dataset-fashion-mnist"):
        datasets.load_dataset("fashion-mnist", data_root=tmp_path)
    d = idx_dir(tmp_path)
    (tmp_path / "fashion-mnist").symlink_to(d)
    with pytest.raises(datasets.DataError, match="need more than 10000"):
        datasets.load_dataset("fashion-mnist", data_root=tmp_path)


def test_default_falls_back_to_digits_when_mnist_unavailable(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOENCODERS_MNIST_URL", "http://127.0.0.1:9/")  # nothing listens on port 9
    monkeypatch.setattr(datasets, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "no-fashion")
    said = []
    ds = datasets.load_dataset(None, data_root=tmp_path, log=said.append)
    assert ds.name == "digits"
    assert any("training on digits instead (bundled with scikit-learn)" in s for s in said)
    with pytest.raises(datasets.DataError, match="MNIST not found and could not download"):
        datasets.load_dataset("mnist", data_root=tmp_path, log=said.append)
    assert not list((tmp_path / "mnist").glob("*")), "no partial file may be left"


def test_fetch_mnist_through_local_server(tmp_path, server, monkeypatch):
    base, handler = server
    src = idx_dir(tmp_path, n_train=10_010, n_test=3)
    files = {p.name: p.read_bytes() for p in src.iterdir()}
    handler.files = files
    monkeypatch.setattr(download, "MNIST_FILES", {k: hashlib.sha256(v).hexdigest() for k, v in files.items()})
    monkeypatch.setenv("AUTOENCODERS_MNIST_URL", base)
    ds = datasets.load_dataset("mnist", data_root=tmp_path / "root", log=lambda *_: None)
    assert ds.name == "mnist" and ds.train[0].shape == (10, 6) and ds.valid[0].shape == (10_000, 6)
    assert sorted(p.name for p in (tmp_path / "root" / "mnist").iterdir()) == sorted(files)


def test_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "d"))
    assert datasets.data_dir() == tmp_path / "d"
    monkeypatch.delenv("AUTOENCODERS_DATA")
    clone = Path(datasets.__file__).resolve().parents[1]
    assert datasets.data_dir() == (clone / "data" if (clone / "data").is_dir() else
                                   Path.home() / ".cache" / "autoencoders-tutorial")
    monkeypatch.setattr(datasets, "__file__", str(tmp_path / "site-packages" / "autoencoders_tutorial" / "x.py"))
    (tmp_path / "site-packages" / "data").mkdir(parents=True)  # an installed copy: a stray data/ is not ours
    assert datasets.data_dir() == Path.home() / ".cache" / "autoencoders-tutorial"


def test_default_prefers_installed_fashion_mnist_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOENCODERS_MNIST_URL", "http://127.0.0.1:9/")  # nothing listens on port 9
    monkeypatch.setattr(datasets, "FASHION_MNIST_SYSTEM_DIR", idx_dir(tmp_path, n_train=10_010, n_test=4))
    said = []
    ds = datasets.load_dataset(None, data_root=tmp_path / "root", log=said.append)
    assert ds.name == "fashion-mnist" and ds.train[0].shape == (10, 6)
    assert any("MNIST unavailable" in s and "training on fashion-mnist instead (installed here)" in s for s in said)


def test_a_present_but_corrupt_mnist_is_an_error_not_a_fallback(tmp_path):
    (tmp_path / "mnist.pkl.gz").write_bytes(b"not a gzip file")
    with pytest.raises(datasets.DataError, match="mnist.pkl.gz is corrupt or truncated"):
        datasets.load_dataset(None, data_root=tmp_path, log=lambda *_: None)


def test_missing_path_says_no_such_file(tmp_path):
    with pytest.raises(datasets.DataError, match=r"dataset .*nothing\.pkl\.gz: no such file or folder"):
        datasets.load_dataset(str(tmp_path / "nothing.pkl.gz"), data_root=tmp_path)
    with pytest.raises(datasets.DataError, match="unknown dataset 'nope'"):
        datasets.load_dataset("nope", data_root=tmp_path)


def test_a_bad_data_folder_is_one_line_never_a_fallback(tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "afile"))
    with pytest.raises(datasets.DataError, match="AUTOENCODERS_DATA .*afile is a file, not a folder"):
        datasets.load_dataset(None, log=lambda *_: None)
    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "afile" / "below"))  # cannot be created
    with pytest.raises(datasets.DataError, match="cannot be created"):
        datasets.load_dataset(None, log=lambda *_: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
