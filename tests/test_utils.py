"""utils: images, readers, download, files, loops."""

import gzip
import hashlib
import http.server
import pickle
import struct
import threading

import numpy as np
import pytensor
import pytest

import utils


# -- images ---------------------------------------------------------------------------


def test_scale_to_unit_interval():
    out = utils.scale_to_unit_interval(np.array([[2.0, 4.0], [6.0, 10.0]]))
    np.testing.assert_allclose(out, [[0, 0.25], [0.5, 1.0]], atol=1e-7)


def test_tile_raster_images_exact_values_and_spacing():
    X = np.array([[0.0, 1.0, 0.5, 0.25], [1.0, 1.0, 1.0, 1.0], [0.0, 0.2, 0.4, 0.8]])
    out = utils.tile_raster_images(X, (2, 2), (2, 2), tile_spacing=(1, 1), scale_rows_to_unit_interval=False,
                                   output_pixel_vals=True)
    assert out.shape == (5, 5) and out.dtype == np.uint8
    want = np.zeros((5, 5), dtype=np.uint8)
    want[0:2, 0:2] = (np.array([[0, 1], [0.5, 0.25]]) * 255).astype(np.uint8)
    want[0:2, 3:5] = 255
    want[3:5, 0:2] = (np.array([[0, 0.2], [0.4, 0.8]]) * 255).astype(np.uint8)
    np.testing.assert_array_equal(out, want)


def test_tile_raster_images_scaling_and_floats():
    X = np.array([[2.0, 4.0, 6.0, 10.0]])
    out = utils.tile_raster_images(X, (2, 2), (1, 1), output_pixel_vals=False)
    assert out.dtype == X.dtype
    np.testing.assert_allclose(out, [[0, 0.25], [0.5, 1.0]], atol=1e-7)


def test_tile_raster_images_channels_and_alpha():
    X = np.array([[0.0, 1.0, 1.0, 0.0]])
    out = utils.tile_raster_images((X, None, X, None), (2, 2), (1, 1), scale_rows_to_unit_interval=False)
    assert out.shape == (2, 2, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:, :, 0], [[0, 255], [255, 0]])
    np.testing.assert_array_equal(out[:, :, 1], 0)
    np.testing.assert_array_equal(out[:, :, 3], 255)
    f = utils.tile_raster_images((X, None, None, None), (2, 2), (1, 1), scale_rows_to_unit_interval=False,
                                 output_pixel_vals=False)
    np.testing.assert_array_equal(f[:, :, 3], 1.0)
    with pytest.raises(ValueError, match="4 entries"):
        utils.tile_raster_images((X, X), (2, 2), (1, 1))
    with pytest.raises(ValueError, match="4 columns"):
        utils.tile_raster_images(np.zeros((2, 5)), (2, 2), (1, 1))


# -- readers --------------------------------------------------------------------------


def _write_idx(path, arr, compress):
    codes = {np.dtype("uint8"): 0x08}
    header = struct.pack(">HBB", 0, codes[arr.dtype], arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    data = header + arr.tobytes()
    if compress:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def _idx_dir(tmp_path, compress=True, n_train=30, n_test=7):
    rng = np.random.default_rng(0)
    sfx = ".gz" if compress else ""
    d = tmp_path / "idx"
    d.mkdir()
    _write_idx(d / f"train-images-idx3-ubyte{sfx}", rng.integers(0, 256, (n_train, 3, 2), dtype=np.uint8), compress)
    _write_idx(d / f"train-labels-idx1-ubyte{sfx}", rng.integers(0, 10, n_train, dtype=np.uint8), compress)
    _write_idx(d / f"t10k-images-idx3-ubyte{sfx}", rng.integers(0, 256, (n_test, 3, 2), dtype=np.uint8), compress)
    _write_idx(d / f"t10k-labels-idx1-ubyte{sfx}", rng.integers(0, 10, n_test, dtype=np.uint8), compress)
    return d


@pytest.mark.parametrize("compress", [True, False])
def test_idx_reader_and_split(tmp_path, compress):
    d = _idx_dir(tmp_path, compress)
    raw = utils.read_idx(next(d.glob("train-images*")))
    ds = utils.load_idx_dataset(d, n_valid=10)
    assert ds.train[0].shape == (20, 6) and ds.valid[0].shape == (10, 6) and ds.test[0].shape == (7, 6)
    assert ds.train[0].dtype == np.float32 and ds.image_shape == (3, 2)
    np.testing.assert_allclose(ds.valid[0], raw[20:].reshape(10, 6) / 255.0, rtol=1e-6)
    assert ds.train[0].min() >= 0 and ds.train[0].max() <= 1


def test_idx_wrong_magic_truncated_and_corrupt_gzip(tmp_path):
    bad = tmp_path / "bad-idx"
    bad.write_bytes(b"\x00\x01\x08\x01" + b"\x00" * 8)
    with pytest.raises(utils.DataError, match="wrong magic number"):
        utils.read_idx(bad)
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    good = _write_idx(tmp_path / "a-idx", arr, False)
    good.write_bytes(good.read_bytes()[:-3])
    with pytest.raises(utils.DataError, match="truncated"):
        utils.read_idx(good)
    gz = _write_idx(tmp_path / "b-idx.gz", arr, True)
    gz.write_bytes(gz.read_bytes()[:-6])
    with pytest.raises(utils.DataError, match="corrupt or truncated"):
        utils.read_idx(gz)
    junk = tmp_path / "c-idx.gz"
    junk.write_bytes(b"not gzip at all")
    with pytest.raises(utils.DataError, match="corrupt or truncated"):
        utils.read_idx(junk)


def _pkl_gz(path, obj, protocol=2):
    with gzip.open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)
    return path


@pytest.mark.parametrize("protocol", [2, 5])
def test_mnist_pkl_reader(tmp_path, protocol):
    rng = np.random.default_rng(0)
    splits = tuple((rng.random((n, 16)).astype(np.float32), rng.integers(0, 10, n)) for n in (10, 4, 5))
    ds = utils.load_mnist_pkl(_pkl_gz(tmp_path / "mnist.pkl.gz", splits, protocol))
    for got, want in zip(ds.splits, splits):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    assert ds.image_shape == (4, 4)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_malicious_pickle_is_refused(tmp_path, capsys):
    path = _pkl_gz(tmp_path / "evil.pkl.gz", ((_Evil(), None), (None, None), (None, None)))
    with pytest.raises(utils.DataError, match=r"refusing to load (__builtin__|builtins)\.print"):
        utils.load_mnist_pkl(path)
    assert "pwned" not in capsys.readouterr().out


def test_pkl_wrong_structure_and_corrupt(tmp_path):
    with pytest.raises(utils.DataError, match="three"):
        utils.load_mnist_pkl(_pkl_gz(tmp_path / "a.pkl.gz", (np.zeros(3),)))
    p = tmp_path / "b.pkl.gz"
    p.write_bytes(b"garbage")
    with pytest.raises(utils.DataError, match="corrupt"):
        utils.load_mnist_pkl(p)
    rng = np.random.default_rng(0)
    splits = ((rng.random((3, 4)), np.arange(3)), (rng.random((2, 5)), np.arange(2)), (rng.random((2, 4)), np.arange(2)))
    with pytest.raises(utils.DataError, match="different widths"):
        utils.load_mnist_pkl(_pkl_gz(tmp_path / "c.pkl.gz", splits))


def test_digits_and_synthetic():
    ds = utils.load_digits_dataset()
    assert ds.n_features == 64 and ds.image_shape == (8, 8) and ds.n_classes == 10
    assert ds.train[0].min() >= 0 and ds.train[0].max() <= 1
    again = utils.load_digits_dataset()
    np.testing.assert_array_equal(ds.test[0], again.test[0])
    assert sum(len(s[1]) for s in ds.splits) == 1797
    syn = utils.make_synthetic()
    assert syn.train[0].shape == (200, 16) and syn.n_classes == 3


def test_load_data_shared_types(tiny):
    with pytensor.config.change_flags(floatX="float32"):
        (tx, ty), (vx, vy), (sx, sy) = utils.load_data(tiny)
        assert tx.get_value().dtype == np.float32 and ty.get_value().dtype == np.int32
        assert sx.get_value().shape == (50, 16)


def test_dataset_selection_errors(tmp_path, monkeypatch):
    with pytest.raises(utils.DataError, match="MNIST not found: put mnist.pkl.gz"):
        utils.load_dataset("mnist", data_root=tmp_path, download_ok=False)
    monkeypatch.setattr(utils, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "nothing")
    with pytest.raises(utils.DataError, match="apt-get install dataset-fashion-mnist"):
        utils.load_dataset("fashion-mnist", data_root=tmp_path)
    d = _idx_dir(tmp_path)
    (tmp_path / "fashion-mnist").symlink_to(d)
    with pytest.raises(utils.DataError, match="need more than 10000"):
        utils.load_dataset("fashion-mnist", data_root=tmp_path)


def test_default_falls_back_to_digits_when_mnist_unavailable(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOENCODERS_MNIST_URL", "http://127.0.0.1:9/")  # nothing listens on port 9
    said = []
    ds = utils.load_dataset(None, data_root=tmp_path, log=said.append)
    assert ds.name == "digits"
    assert any("training on scikit-learn's digits" in s for s in said)
    with pytest.raises(utils.DataError, match="MNIST not found and could not download"):
        utils.load_dataset("mnist", data_root=tmp_path, log=said.append)
    assert not list((tmp_path / "mnist").glob("*")), "no partial file may be left"


# -- download through a local HTTP server ---------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict = {}
    cut: set = set()

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        body = self.files.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if name in self.cut else body)
        self.wfile.flush()
        if name in self.cut:
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.files, _Handler.cut = {}, set()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", _Handler
    httpd.shutdown()


def test_download_good_bad_checksum_and_cut_off(tmp_path, server):
    base, handler = server
    body = b"x" * 200_000
    handler.files = {"good": body, "cut": body}
    handler.cut = {"cut"}
    digest = hashlib.sha256(body).hexdigest()
    out = utils.download(base + "good", tmp_path / "good", digest, progress=False)
    assert out.read_bytes() == body
    with pytest.raises(utils.DataError, match="sha256"):
        utils.download(base + "good", tmp_path / "bad", "0" * 64, progress=False)
    with pytest.raises(utils.DataError, match="cut off|could not download"):
        utils.download(base + "cut", tmp_path / "cut", digest, progress=False)
    with pytest.raises(utils.DataError, match="could not download"):
        utils.download(base + "missing", tmp_path / "missing", digest, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good"], "failed downloads leave nothing behind"


def test_fetch_mnist_through_local_server(tmp_path, server, monkeypatch):
    base, handler = server
    src = _idx_dir(tmp_path, n_train=10_005, n_test=3)
    files = {p.name: p.read_bytes() for p in src.iterdir()}
    handler.files = files
    monkeypatch.setattr(utils, "MNIST_FILES", {k: hashlib.sha256(v).hexdigest() for k, v in files.items()})
    monkeypatch.setenv("AUTOENCODERS_MNIST_URL", base)
    ds = utils.load_dataset("mnist", data_root=tmp_path / "root", log=lambda *_: None)
    assert ds.name == "mnist" and ds.train[0].shape == (5, 6) and ds.valid[0].shape == (10_000, 6)
    assert sorted(p.name for p in (tmp_path / "root" / "mnist").iterdir()) == sorted(files)


# -- files and loops ------------------------------------------------------------------


def test_save_load_params_roundtrip_atomic(tmp_path):
    path = tmp_path / "m.npz"
    utils.save_params(path, {"W": np.arange(6.0).reshape(2, 3)}, epoch=3)
    arrays, meta = utils.load_params(path)
    np.testing.assert_array_equal(arrays["W"], np.arange(6.0).reshape(2, 3))
    assert meta == {"epoch": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    path.write_bytes(b"corrupt")
    with pytest.raises(utils.DataError, match="not a readable .npz"):
        utils.load_params(path)
    with pytest.raises(utils.DataError, match="not found"):
        utils.load_params(tmp_path / "none.npz")


def test_keep_previous(tmp_path):
    path = tmp_path / "best_model.npz"
    assert utils.keep_previous(path) is None
    utils.save_params(path, {"W": np.ones(2)})
    assert utils.keep_previous(path) == tmp_path / "best_model.previous.npz"
    assert not path.exists()
    np.testing.assert_array_equal(utils.load_params(tmp_path / "best_model.previous.npz")[0]["W"], np.ones(2))


def test_interrupted_write_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    utils.save_params(path, {"W": np.ones(3)})

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(utils.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        utils.save_params(path, {"W": np.zeros(3)})
    np.testing.assert_array_equal(utils.load_params(path)[0]["W"], np.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_train_epochs_nan_and_interrupt():
    costs = iter([1.0, 2.0, float("nan")])
    with pytest.raises(utils.TrainingDiverged, match="cost became nan at epoch 1, minibatch 0"):
        utils.train_epochs(lambda i: next(costs), 2, 3, log=lambda *_: None)
    calls = []

    def step(i):
        calls.append(i)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return 1.0

    res = utils.train_epochs(step, 2, 10, log=lambda *_: None)
    assert res.interrupted and res.costs == [1.0, 1.0]


def test_sgd_updates_refuses_non_shared():
    import pytensor.tensor as pt
    x = pt.scalar()
    with pytest.raises(ValueError, match="shared variables"):
        utils.sgd_updates(x**2, [x], 0.1)


def test_check_random_state():
    assert isinstance(utils.check_random_state(3), np.random.Generator)
    rs = np.random.RandomState(0)
    assert utils.check_random_state(rs) is rs
    with pytest.raises(TypeError, match="got str"):
        utils.check_random_state("x")
