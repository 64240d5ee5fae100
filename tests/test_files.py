"""files: atomic writes, .npz parameter files, keep_previous, the metrics log, output folders."""

import json

import numpy as np
import pytest

from autoencoders_tutorial import files
from autoencoders_tutorial.errors import TutorialError


def test_save_load_params_roundtrip_atomic(tmp_path):
    path = tmp_path / "m.npz"
    files.save_params(path, {"W": np.arange(6.0).reshape(2, 3)}, epoch=3)
    arrays, meta = files.load_params(path)
    np.testing.assert_array_equal(arrays["W"], np.arange(6.0).reshape(2, 3))
    assert meta == {"epoch": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    path.write_bytes(b"corrupt")
    with pytest.raises(files.DataError, match="not a readable .npz"):
        files.load_params(path)
    with pytest.raises(files.DataError, match="not found"):
        files.load_params(tmp_path / "none.npz")


def test_keep_previous(tmp_path):
    path = tmp_path / "best_model.npz"
    assert files.keep_previous(path) is None
    files.save_params(path, {"W": np.ones(2)})
    assert files.keep_previous(path) == tmp_path / "best_model.previous.npz"
    assert not path.exists()
    np.testing.assert_array_equal(files.load_params(tmp_path / "best_model.previous.npz")[0]["W"], np.ones(2))


def test_interrupted_write_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    files.save_params(path, {"W": np.ones(3)})

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        files.save_params(path, {"W": np.zeros(3)})
    np.testing.assert_array_equal(files.load_params(path)[0]["W"], np.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_params_roundtrip_by_name_and_shape_checks():
    class P:  # a shared-variable look-alike: files needs only name, get_value, set_value
        def __init__(self, name, value):
            self.name, self.value = name, value

        def get_value(self, borrow=False):
            return self.value

        def set_value(self, v):
            self.value = v

    a, b = P("a", np.zeros((2, 2), np.float32)), P("b", np.ones(3, np.float32))
    arrays = files.params_to_arrays([a, b])
    arrays["a"][0, 0] = 5  # a copy, not a view of the parameter
    assert a.value[0, 0] == 0
    files.set_params_from_arrays([a, b], {"a": np.full((2, 2), 2.0), "b": np.zeros(3)})
    assert a.value.dtype == np.float32 and a.value[1, 1] == 2
    with pytest.raises(files.DataError, match="lacks parameters"):
        files.set_params_from_arrays([a, b], {"a": np.zeros((2, 2))})
    with pytest.raises(files.DataError, match=r"parameter a has shape \(3,\), the model expects \(2, 2\)"):
        files.set_params_from_arrays([a], {"a": np.zeros(3)})
    with pytest.raises(ValueError, match="duplicate parameter name"):
        files.params_to_arrays([a, a])


def test_metrics_log_appends_json_lines(tmp_path):
    log = files.MetricsLog(tmp_path / "sub" / "metrics.jsonl")
    log.write(epoch=0, cost=1.5)
    log.write(epoch=1, cost=1.25)
    lines = [json.loads(s) for s in (tmp_path / "sub" / "metrics.jsonl").read_text().splitlines()]
    assert [(r["epoch"], r["cost"]) for r in lines] == [(0, 1.5), (1, 1.25)] and "time" in lines[0]
    files.MetricsLog(None).write(epoch=0)  # no path: writes nothing


def test_ensure_output_dir(tmp_path):
    assert files.ensure_output_dir(tmp_path / "a" / "b").is_dir()
    blocked = tmp_path / "file"
    blocked.write_text("x")
    with pytest.raises(TutorialError, match="is not writable .*; choose another output_dir$"):
        files.ensure_output_dir(blocked / "sub")
