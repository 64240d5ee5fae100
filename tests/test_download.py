"""download: the checked download, against a local HTTP server on 127.0.0.1."""

import hashlib

import pytest

from autoencoders_tutorial import download


def test_download_good_bad_checksum_and_cut_off(tmp_path, server):
    base, handler = server
    body = b"x" * 200_000
    handler.files = {"good": body, "cut": body}
    handler.cut = {"cut"}
    digest = hashlib.sha256(body).hexdigest()
    out = download.download(base + "good", tmp_path / "good", digest, progress=False)
    assert out.read_bytes() == body
    with pytest.raises(download.DataError, match="sha256"):
        download.download(base + "good", tmp_path / "bad", "0" * 64, progress=False)
    with pytest.raises(download.DataError, match="cut off|could not download"):
        download.download(base + "cut", tmp_path / "cut", digest, progress=False)
    with pytest.raises(download.DataError, match="could not download"):
        download.download(base + "missing", tmp_path / "missing", digest, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good"], "failed downloads leave nothing behind"
