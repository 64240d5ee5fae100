"""files: atomic writes, .previous copies, .npz parameter files, held Ctrl-C, the metrics log, output folders."""

import errno
import json
import os
import signal

import numpy as np
import pytest

from autoencoders_tutorial import files, interrupts
from autoencoders_tutorial.errors import TutorialError


def test_save_load_params_roundtrip_atomic(tmp_path):
    path = tmp_path / "m.npz"
    files.save_params(path, {"W": np.arange(6.0).reshape(2, 3)}, epoch=3)
    arrays, meta = files.load_params(path)
    np.testing.assert_array_equal(arrays["W"], np.arange(6.0).reshape(2, 3))
    assert meta == {"epoch": 3, "format_version": files.FORMAT_VERSION}
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    path.write_bytes(b"corrupt")
    with pytest.raises(files.DataError, match="not a readable .npz"):
        files.load_params(path)
    with pytest.raises(files.DataError, match="not found"):
        files.load_params(tmp_path / "none.npz")


def _write_raw_npz(path, meta_bytes=None, **arrays):
    if meta_bytes is not None:
        arrays["__meta__"] = np.frombuffer(meta_bytes, dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_format_version_old_files_load_newer_ones_are_refused(tmp_path):
    _write_raw_npz(tmp_path / "old.npz", json.dumps({"epoch": 1}).encode(), W=np.ones(2))  # before format_version
    assert files.load_params(tmp_path / "old.npz")[1] == {"epoch": 1}
    _write_raw_npz(tmp_path / "new.npz", json.dumps({"format_version": files.FORMAT_VERSION + 1}).encode(), W=np.ones(2))
    with pytest.raises(files.DataError, match=r"format_version 2, this library reads up to 1; upgrade"):
        files.load_params(tmp_path / "new.npz")


def test_keep_previous_only_once_the_new_file_is_complete(tmp_path, monkeypatch):
    path = tmp_path / "best_model.npz"
    assert files.atomic_write_bytes(path, b"one", keep_previous=True) is None  # nothing to keep
    assert files.atomic_write_bytes(path, b"two", keep_previous=True) == tmp_path / "best_model.previous.npz"
    assert path.read_bytes() == b"two" and (tmp_path / "best_model.previous.npz").read_bytes() == b"one"

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)  # the new file cannot be completed
    with pytest.raises(files.SaveError, match=r"^could not save .*best_model.npz \(No space left on device; free some "
                       r"space\); the earlier best_model.npz is untouched$"):
        files.atomic_write_bytes(path, b"three", keep_previous=True)
    assert path.read_bytes() == b"two" and (tmp_path / "best_model.previous.npz").read_bytes() == b"one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best_model.npz", "best_model.previous.npz"]


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


def test_ctrl_c_during_a_write_is_held_until_the_file_is_complete(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    real_fsync = files.os.fsync

    def fsync_with_sigint(fd):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of the write
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", fsync_with_sigint)
    with pytest.raises(KeyboardInterrupt):
        files.save_params(path, {"W": np.full(3, 7.0)})
    np.testing.assert_array_equal(files.load_params(path)[0]["W"], np.full(3, 7.0))  # written whole, then raised
    with interrupts.deferred_interrupts(deliver=False) as held:  # the loops' form: polled, not raised
        os.kill(os.getpid(), signal.SIGINT)
    assert held.received
    with pytest.raises(KeyboardInterrupt), interrupts.deferred_interrupts(deliver=False) as held:
        os.kill(os.getpid(), signal.SIGINT)
        files.save_params(path, {"W": np.full(3, 8.0)})
        os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C: stop now
        raise AssertionError("not reached")
    np.testing.assert_array_equal(files.load_params(path)[0]["W"], np.full(3, 8.0))


def test_hostile_npz_files_are_one_line(tmp_path):
    cases = {
        "non_utf8_meta": dict(meta_bytes=b"\xff\xfe{", W=np.ones(2)),
        "meta_not_object": dict(meta_bytes=b"[1, 2]", W=np.ones(2)),
        "strings": dict(meta_bytes=b"{}", W=np.array(["a", "b"])),
    }
    for name, kw in cases.items():
        _write_raw_npz(tmp_path / f"{name}.npz", **kw)
        with pytest.raises(files.DataError) as info:
            files.load_params(tmp_path / f"{name}.npz")
        assert "\n" not in str(info.value), name
    with open(tmp_path / "objects.npz", "wb") as f:
        np.savez(f, W=np.array([{"a": 1}], dtype=object))
    with pytest.raises(files.DataError, match="holds Python objects"):
        files.load_params(tmp_path / "objects.npz")  # never unpickled


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


def test_an_ignored_ctrl_c_stays_ignored():
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as for `nohup python dA.py &`
    try:
        with interrupts.deferred_interrupts() as held:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
        assert not held.received
    finally:
        signal.signal(signal.SIGINT, old)
