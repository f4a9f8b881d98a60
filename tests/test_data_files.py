"""File resolution, sha256 verification and verified downloads (amref.data.files).

Downloads go to a tiny ``http.server`` on 127.0.0.1 started by the ``server`` fixture; nothing here
touches any other address.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading

import pooch
import pytest

from amref.data import files
from amref.data.files import DataError


def entry(content: bytes, url: str = "http://127.0.0.1:9/unused") -> files.FileEntry:
    return files.FileEntry(hashlib.sha256(content).hexdigest(), url)


# ----------------------------------------------------------------------------------------------- registry


def test_read_registry_parses_lines_and_comments():
    sha = "ab" * 32
    text = f"# comment\n\nmnist/a.gz {sha.upper()} https://example.invalid/a.gz  # trailing\n"
    assert files.read_registry(text) == {"mnist/a.gz": files.FileEntry(sha, "https://example.invalid/a.gz")}


@pytest.mark.parametrize("line", ["mnist/a.gz abc https://x", "mnist/a.gz " + "0" * 64, "a b c d"])
def test_read_registry_rejects_malformed_lines(line):
    with pytest.raises(DataError, match="registry line 1"):
        files.read_registry(line)


# ------------------------------------------------------------------------------------- data directory


def test_data_home_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv(files.ENV_VAR, str(tmp_path / "env"))
    assert files.data_home(tmp_path / "arg") == tmp_path / "arg"
    assert files.data_home() == tmp_path / "env"
    monkeypatch.setenv(files.ENV_VAR, "")
    assert files.data_home() == pooch.os_cache("amref")
    monkeypatch.delenv(files.ENV_VAR)
    assert files.data_home() == pooch.os_cache("amref")


def test_fetch_finds_verified_file_in_env_dir_and_data_dir_wins(monkeypatch, tmp_path):
    content = b"pixels"
    for d in ("env", "arg"):
        (tmp_path / d / "mnist").mkdir(parents=True)
        (tmp_path / d / "mnist" / "a.gz").write_bytes(content)
    registry = {"mnist/a.gz": entry(content)}
    monkeypatch.setenv(files.ENV_VAR, str(tmp_path / "env"))
    assert files.fetch("mnist/a.gz", registry=registry, download=False) == tmp_path / "env" / "mnist" / "a.gz"
    assert files.fetch("mnist/a.gz", data_dir=tmp_path / "arg", registry=registry, download=False) == (
        tmp_path / "arg" / "mnist" / "a.gz")


def test_fetch_rejects_a_corrupt_file_naming_file_and_both_hashes(tmp_path):
    path = tmp_path / "mnist" / "a.gz"
    path.parent.mkdir()
    path.write_bytes(b"tampered")
    expected = entry(b"original")
    with pytest.raises(DataError) as info:
        files.fetch("mnist/a.gz", data_dir=tmp_path, registry={"mnist/a.gz": expected})
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message and expected.sha256 in message
    assert hashlib.sha256(b"tampered").hexdigest() in message and "delete it" in message
    assert path.read_bytes() == b"tampered"  # never silently replaced


def test_fetch_missing_file_without_download_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv(files.ENV_VAR, str(tmp_path))
    with pytest.raises(DataError, match=r"mnist/a\.gz is not in the data directory .*AMREF_DATA_DIR.*download=False"):
        files.fetch("mnist/a.gz", registry={"mnist/a.gz": entry(b"x")}, download=False)
    with pytest.raises(DataError, match="data_dir argument"):
        files.fetch("mnist/a.gz", data_dir=tmp_path, registry={"mnist/a.gz": entry(b"x")}, download=False)


def test_fetch_unknown_file():
    with pytest.raises(DataError, match="no file 'nope/x'"):
        files.fetch("nope/x", download=False)


# -------------------------------------------------------------------------------------------- downloads


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def do_GET(self):
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """``(root, base_url, requests)``: files under ``root`` served on 127.0.0.1, requests logged."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    root = tmp_path / "served"
    root.mkdir()
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_download_verifies_and_stores_the_file_once(server, tmp_path):
    root, url, requests = server
    content = b"IDX bytes " * 100
    (root / "a.gz").write_bytes(content)
    registry = {"mnist/a.gz": entry(content, f"{url}/a.gz")}
    data = tmp_path / "data"
    path = files.fetch("mnist/a.gz", data_dir=data, registry=registry)
    assert path == data / "mnist" / "a.gz" and path.read_bytes() == content
    assert files.fetch("mnist/a.gz", data_dir=data, registry=registry) == path
    assert requests == ["/a.gz"]  # the second call used the verified local copy


def test_download_with_wrong_checksum_leaves_no_file(server, tmp_path):
    root, url, _ = server
    (root / "a.gz").write_bytes(b"not what the registry says")
    registry = {"mnist/a.gz": entry(b"the original", f"{url}/a.gz")}
    data = tmp_path / "data"
    with pytest.raises(DataError, match=r"download of mnist/a\.gz .* rejected, nothing was saved") as info:
        files.fetch("mnist/a.gz", data_dir=data, registry=registry)
    assert "\n" not in str(info.value)
    assert [p for p in data.rglob("*") if p.is_file()] == []


def test_download_http_error_is_a_clear_error(server, tmp_path):
    _, url, requests = server
    registry = {"mnist/a.gz": entry(b"x", f"{url}/missing.gz")}
    with pytest.raises(DataError, match=r"could not download mnist/a\.gz from http://127\.0\.0\.1.*404"):
        files.fetch("mnist/a.gz", data_dir=tmp_path / "data", registry=registry)
    assert requests == ["/missing.gz"]
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file()] == []
