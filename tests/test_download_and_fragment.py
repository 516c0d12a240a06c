"""The real download path, offline: a local HTTP server serves a small archive in NIST's layout;
and the real EMNIST fragment from ../shared (skipped where absent)."""
from __future__ import annotations

import functools
import hashlib
import http.server
import threading

import numpy as np
import pytest

from hwlib.data import class_counts, emnist, letters, load_letters
from hwlib.experiments.cli import main
from hwlib.errors import DataError

from test_data_formats import write_gz_folder, write_zip


@pytest.fixture
def served(tmp_path):
    """(url, md5, files) of a small gzip.zip served on 127.0.0.1."""
    folder = write_gz_folder(tmp_path / "src")
    (tmp_path / "www").mkdir()
    z = write_zip(tmp_path / "www" / "gzip.zip", folder)
    files = {f.name: (emnist.sha256_file(f), f.stat().st_size) for f in folder.iterdir()}
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    handler.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    md5 = hashlib.md5(z.read_bytes()).hexdigest()
    yield f"http://127.0.0.1:{srv.server_address[1]}/gzip.zip", md5, files, z
    srv.shutdown()


def test_download_extracts_only_letters_and_checks_hashes(tmp_path, served):
    url, md5, files, _ = served
    dest = emnist.download(tmp_path / "cache" / "emnist", url=url, md5=md5, files=files, progressbar=False)
    assert sorted(p.name for p in dest.iterdir()) == sorted(files)  # the digits file was not extracted
    d = load_letters(dest, verify=False)
    assert len(d.test) == 26 * 3
    # a second call reuses the cached archive (the server could be gone)
    assert emnist.download(dest, url=url, md5=md5, files=files, progressbar=False) == dest


def test_download_md5_mismatch(tmp_path, served):
    url, _, files, _ = served
    with pytest.raises(DataError, match="md5 check"):
        emnist.download(tmp_path / "c" / "emnist", url=url, md5="0" * 32, files=files, progressbar=False)
    assert not list((tmp_path / "c" / "downloads").glob("emnist-gzip.zip"))


def test_inner_sha256_mismatch(tmp_path, served):
    url, md5, files, _ = served
    bad = dict(files)
    name = next(iter(bad))
    bad[name] = ("f" * 64, 0)
    with pytest.raises(DataError, match=r"is not the official .*delete"):
        emnist.download(tmp_path / "c" / "emnist", url=url, md5=md5, files=bad, progressbar=False)
    assert not (tmp_path / "c" / "emnist" / name).exists()


def test_cli_import_checks_official_hashes(tmp_path, served, capsys):
    *_, z = served
    assert main(["data", "import", str(z), "--dest", str(tmp_path / "d")]) == 2
    assert "is not the official" in capsys.readouterr().err


def test_official_constants_match_the_brief():
    assert emnist.URL == "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    assert emnist.ZIP_MD5 == "58c8d27c78d21e728a6bc7b3cc06412e"
    assert emnist.FILES["emnist-letters-test-labels-idx1-ubyte.gz"] == (
        "924955c31fe7fd809b7303b5c0141282955f4b8390c74cdfd5d80435e0f4b4cb", 144)
    assert sum(size for _, size in emnist.FILES.values()) == 30_804_864 + 79_283 + 5_039_157 + 144


# ------------------------------------------------------------------ real fragment
def test_real_fragment_orientation_and_labels(fragment_path):
    d = load_letters(fragment_path, profile="full")
    raw = np.load(fragment_path)
    assert len(d.train) == 0 and len(d.test) == 10_000
    # labels agree with the complete official test label file, index by index
    np.testing.assert_array_equal(d.test.y, raw["official_test_labels"][raw["test_index"]])
    counts = class_counts(d.test.y)
    assert (counts[:12] == 800).all() and counts[12] == 400 and counts[13:].sum() == 0
    # upright: the orientation check agrees, and would flip a transposed copy
    assert not letters.is_transposed(d.test.X, d.test.y)
    assert letters.is_transposed(d.test.X.transpose(0, 2, 1), d.test.y)
    assert (class_counts(raw["official_train_labels"]) == 4800).all()


def test_real_fragment_cannot_be_trained_on(fragment_path, tmp_path):
    from hwlib.experiments import Context, run_experiment
    d = load_letters(fragment_path, profile="quick")
    assert len(d.train) == 0
    with pytest.raises(DataError, match="no training images.*--data synthetic"):
        Context("q1.x", "quick", d, root=tmp_path)
    # the same refusal through the runner, before anything is written
    with pytest.raises(DataError, match="no training images.*--data synthetic"):
        run_experiment("q1.perceptron", "quick", data_path=str(fragment_path), root=tmp_path / "res")
    assert not (tmp_path / "res").exists()
