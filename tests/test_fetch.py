"""Tests of slic_lib.fetch against local HTTP servers on 127.0.0.1 (no internet)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import torch

from slic_lib import cli, fetch
from slic_lib.errors import SlicError

def _release_like(name: str, n: int) -> bytes:
    """Random content of about ``n`` bytes in the file's real format (fetch checks it before recording it)."""
    buffer = io.BytesIO()
    values = np.frombuffer(os.urandom(n), dtype=np.uint8)
    if name.endswith(".pth"):
        torch.save({"features.0.weight": torch.from_numpy(values.astype(np.float32)[: n // 4].copy())}, buffer)
    else:
        np.savez(buffer, data=values)
    return buffer.getvalue()


FILES = {name: _release_like(name, n) for name, n in (("sol_class_4.pth", 50_000), ("solar_train_data.npz", 120_000),
                                                       ("solar_test_data.npz", 30_000))}


class Server:
    """Serves FILES; modes: honour Range, cut after N bytes, or ignore Range. Records requests."""

    def __init__(self):
        self.cut_after: int | None = None  # close the connection after this many body bytes
        self.ignore_range = False
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                if self.path.startswith("/redirect/"):  # like GitHub release assets
                    self.send_response(302)
                    self.send_header("Location", f"/{name}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                rng = self.headers.get("Range")
                server.requests.append((name, rng))
                if name not in FILES:
                    self.send_error(404)
                    return
                data = FILES[name]
                start = 0
                if rng and not server.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                body = data[start:]
                if server.cut_after is not None:
                    self.wfile.write(body[: server.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with Server() as s:
        yield s


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_full_download(server, tmp_path):
    name = "sol_class_4.pth"
    out = fetch.download(f"{server.url}/{name}", tmp_path / name, progress=False)
    assert out.read_bytes() == FILES[name]
    assert not (tmp_path / (name + ".part")).exists()


def test_interrupted_then_resumed_gives_the_right_bytes(server, tmp_path):
    name = "solar_train_data.npz"
    target = tmp_path / name
    server.cut_after = 40_000
    with pytest.raises(SlicError, match="kept in solar_train_data.npz.part"):
        fetch.download(f"{server.url}/{name}", target, progress=False)
    assert not target.exists(), "an incomplete file must not appear under its final name"
    assert (tmp_path / (name + ".part")).stat().st_size == 40_000

    server.cut_after = None
    fetch.download(f"{server.url}/{name}", target, expected_sha256=sha(FILES[name]), progress=False)
    assert target.read_bytes() == FILES[name]
    assert server.requests[-1] == (name, "bytes=40000-"), "the second request must ask only for the rest"


def test_resume_through_a_redirect_keeps_the_range(server, tmp_path):
    name = "solar_train_data.npz"
    server.cut_after = 25_000
    with pytest.raises(SlicError):
        fetch.download(f"{server.url}/redirect/{name}", tmp_path / name, progress=False)
    server.cut_after = None
    fetch.download(f"{server.url}/redirect/{name}", tmp_path / name, progress=False)
    assert (tmp_path / name).read_bytes() == FILES[name]
    assert server.requests[-1] == (name, "bytes=25000-")


def test_server_that_ignores_range_restarts_cleanly(server, tmp_path):
    name = "solar_test_data.npz"
    part = tmp_path / (name + ".part")
    part.write_bytes(FILES[name][:10_000])
    server.ignore_range = True
    fetch.download(f"{server.url}/{name}", tmp_path / name, progress=False)
    assert (tmp_path / name).read_bytes() == FILES[name]  # not 10 000 bytes duplicated


def test_complete_part_file_is_finished_without_new_bytes(server, tmp_path):
    name = "solar_test_data.npz"
    (tmp_path / (name + ".part")).write_bytes(FILES[name])  # e.g. killed just before the rename
    fetch.download(f"{server.url}/{name}", tmp_path / name, progress=False)
    assert (tmp_path / name).read_bytes() == FILES[name]


def test_wrong_sha256_deletes_the_download(server, tmp_path):
    name = "solar_test_data.npz"
    with pytest.raises(SlicError, match="different sha256"):
        fetch.download(f"{server.url}/{name}", tmp_path / name, expected_sha256="0" * 64, progress=False)
    assert not (tmp_path / name).exists() and not (tmp_path / (name + ".part")).exists()


def test_manifest_written_then_tampering_detected(server, tmp_path):
    files = fetch.fetch("slic-release", dest=tmp_path, base_url=server.url, progress=False)
    assert {p.name for p in files.values()} == set(FILES)
    manifest = json.loads((tmp_path / fetch.MANIFEST).read_text())
    for name, data in FILES.items():
        assert manifest[name]["sha256"] == sha(data) and manifest[name]["size"] == len(data)

    n = len(server.requests)
    fetch.fetch("slic-release", dest=tmp_path, base_url=server.url, progress=False)
    assert len(server.requests) == n, "verified files must not be downloaded again"

    tampered = bytearray(FILES["solar_train_data.npz"])
    tampered[5] ^= 0xFF  # same size, different content
    (tmp_path / "solar_train_data.npz").write_bytes(bytes(tampered))
    with pytest.raises(SlicError, match=r"solar_train_data\.npz.*--force"):
        fetch.fetch("slic-release", dest=tmp_path, base_url=server.url, progress=False)

    fetch.fetch("slic-release", dest=tmp_path, base_url=server.url, force=True, progress=False)
    assert (tmp_path / "solar_train_data.npz").read_bytes() == FILES["solar_train_data.npz"]


def test_closed_port_gives_one_sentence(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(SlicError) as info:
        fetch.fetch("slic-release", dest=tmp_path, base_url=url, progress=False)
    message = str(info.value)
    assert message.startswith("cannot reach 127.0.0.1:")
    assert f"put the files in {tmp_path} by hand" in message
    assert "\n" not in message and message.count(". ") == 0


def test_cli_success_and_failure(server, tmp_path, capsys):
    rc = cli.main(["fetch", "slic-release", "--base-url", server.url, "--dest", str(tmp_path), "--no-progress"])
    assert rc == 0
    assert all((tmp_path / name).read_bytes() == data for name, data in FILES.items())
    capsys.readouterr()

    bad = f"http://127.0.0.1:{closed_port()}"
    rc = cli.main(["fetch", "slic-release", "--base-url", bad, "--dest", str(tmp_path / "other")])
    err = capsys.readouterr().err
    assert rc == 1
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "cannot reach" in err


def test_a_local_mirror_folder_and_bad_places_are_taken_as_a_user_means_them(tmp_path, capsys):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name, data in FILES.items():
        (mirror / name).write_bytes(data)
    rc = cli.main(["fetch", "slic-release", "--base-url", str(mirror), "--dest", str(tmp_path / "got"), "--no-progress"])
    assert rc == 0 and all((tmp_path / "got" / n).read_bytes() == d for n, d in FILES.items())  # an offline mirror
    capsys.readouterr()
    for argv, said in ((["--base-url", "notaurl", "--dest", str(tmp_path / "x")], "neither a folder nor"),
                       (["--dest", str(mirror / "sol_class_4.pth")], "is a file")):
        assert cli.main(["fetch", "slic-release", *argv, "--no-progress"]) == 1
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_page_that_is_not_the_file_is_refused_not_recorded(tmp_path, capsys):
    # any bytes were recorded in the manifest on first use and printed as "sha256 verified"
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in FILES:
        (mirror / name).write_text("<html>Not Found</html>\n")
    with pytest.raises(SlicError, match=r"sol_class_4.pth is not a PyTorch file of weights \(it begins '<html>Not Found</html>'\)"):
        fetch.fetch("slic-release", dest=tmp_path / "got", base_url=str(mirror), progress=False)
    assert not (tmp_path / "got" / "sol_class_4.pth").exists() and not (tmp_path / "got" / fetch.MANIFEST).exists()
    by_hand = tmp_path / "hand"
    by_hand.mkdir()
    (by_hand / "sol_class_4.pth").write_bytes(FILES["sol_class_4.pth"])
    (by_hand / "solar_train_data.npz").write_bytes(os.urandom(1000))
    with pytest.raises(SlicError, match=r"solar_train_data.npz is not a NumPy .npz archive .*replace it .*--force"):
        fetch.fetch("slic-release", dest=by_hand, base_url=str(mirror), progress=False)
    assert (by_hand / "solar_train_data.npz").exists()  # the user's file is left


def test_the_cli_says_recorded_on_first_use_and_checked_after(server, tmp_path, capsys):
    argv = ["fetch", "slic-release", "--base-url", server.url, "--dest", str(tmp_path), "--no-progress"]
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.count("sha256 recorded in MANIFEST.json") == 3
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.count("same sha256 as recorded in MANIFEST.json") == 3


def test_a_file_missing_from_a_local_mirror_is_not_called_a_network_problem(tmp_path):
    mirror = tmp_path / "emptymirror"
    mirror.mkdir()
    with pytest.raises(SlicError) as info:
        fetch.fetch("slic-release", dest=tmp_path / "got", base_url=str(mirror), progress=False)
    message = str(info.value)
    assert message.startswith(f"{mirror / 'sol_class_4.pth'} does not exist or cannot be read") and "network" not in message


def test_weights_in_torchs_legacy_format_are_taken(tmp_path):
    # the 2019 release may predate torch's zip format; a check with mmap refused and deleted such a file
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    torch.save({"layer.weight": torch.ones(3)}, mirror / "sol_class_4.pth", _use_new_zipfile_serialization=False)
    for name in ("solar_train_data.npz", "solar_test_data.npz"):
        (mirror / name).write_bytes(FILES[name])
    files = fetch.fetch("slic-release", dest=tmp_path / "got", base_url=str(mirror), progress=False)
    assert files["sol_class_4.pth"].read_bytes() == (mirror / "sol_class_4.pth").read_bytes()
