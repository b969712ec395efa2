"""Download the published Slic release (weights and data) with resumption and verification.

Armstrong & Fletcher (2019) published their trained network and their prepared training and
validation data as GitHub release 1.1.1 of https://github.com/rhero12/Slic. ``slic fetch
slic-release`` downloads those three files into ``data/slic-release/``.

Why a hand-written downloader: the files are large, and neither pooch nor parfive resumes a
broken transfer. ``pooch.HTTPDownloader`` opens its output with mode ``"w+b"`` and issues a plain
GET, so every retry starts from byte 0; ``parfive`` sends ``Range`` headers only to split a *fresh*
download into parallel chunks and writes straight into the final file name, so an interrupted
file is neither resumed nor kept apart from complete ones. Here a transfer goes to
``<name>.part``; a later call asks for the missing bytes with ``Range: bytes=N-`` (a server that
ignores ``Range`` and answers 200 restarts the file cleanly), and the final name appears only once
the file is complete and verified (``os.replace`` is atomic).

Verification: the size and SHA-256 of every file are recorded in ``MANIFEST.json`` next to the
files on the first download (trust on first use, since the release publishes no checksums) and
checked on every later call; a mismatch raises :class:`~slic_lib.errors.SlicError` naming the file
and ``--force``. Before a file is first recorded, its content is checked to be what its name
says (weights a PyTorch mapping, data a NumPy ``.npz``), so an error page is not recorded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from urllib.parse import urlparse

from .progress import tqdm

from . import paths
from .errors import SlicError

log = logging.getLogger(__name__)

#: Seconds to wait for a connection or for the next bytes of a response.
TIMEOUT = 60.0
#: Bytes read per network call.
CHUNK = 1 << 20
#: Name of the manifest written next to the downloaded files.
MANIFEST = "MANIFEST.json"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset.

    Parameters
    ----------
    name
        File name, both on the server (appended to the base URL) and on disk.
    size, sha256
        Known size in bytes and SHA-256 hex digest, or ``None`` where the publisher gives none
        (then the values measured on the first download are recorded in the manifest).
    """

    name: str
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Dataset:
    """A set of files published under one base URL."""

    name: str
    base_url: str
    files: tuple[RemoteFile, ...]
    description: str

    def url(self, filename: str, base_url: str | None = None) -> str:
        """Download URL of ``filename``, optionally from a mirror ``base_url``."""
        return f"{(base_url or self.base_url).rstrip('/')}/{filename}"


#: name -> dataset. The paper's release gives no checksums, so size/sha256 are recorded on
#: the first download (see :data:`MANIFEST`).
DATASETS: dict[str, Dataset] = {
    "slic-release": Dataset(
        name="slic-release",
        base_url="https://github.com/rhero12/Slic/releases/download/1.1.1",
        files=(
            RemoteFile("sol_class_4.pth"),
            RemoteFile("solar_train_data.npz"),
            RemoteFile("solar_test_data.npz"),
        ),
        description="trained weights and the prepared Hinode/SOT H-alpha training and "
        "validation data of Armstrong & Fletcher (2019), GitHub release 1.1.1",
    ),
}


# --------------------------------------------------------------------------- hashing / manifest


def sha256sum(path: Path, progress: bool = False) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    size = path.stat().st_size
    with open(path, "rb") as fh, tqdm(
        total=size, unit="B", unit_scale=True, desc=f"sha256 {path.name}", disable=not progress, leave=False
    ) as bar:
        while block := fh.read(CHUNK):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def read_manifest(dest: Path) -> dict[str, dict]:
    """The manifest in ``dest`` (filename -> {"size", "sha256", "url"}), empty if there is none."""
    path = dest / MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SlicError(f"cannot read {path} ({exc}); delete it and run with --force to re-download.") from exc
    if not isinstance(data, dict):
        raise SlicError(f"{path} is not a JSON object; delete it and run with --force to re-download.")
    return data


def write_manifest(dest: Path, manifest: Mapping[str, dict]) -> None:
    """Write the manifest atomically (a temporary file, then ``os.replace``)."""
    tmp = dest / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(dict(sorted(manifest.items())), indent=2) + "\n")
    os.replace(tmp, dest / MANIFEST)


# --------------------------------------------------------------------------- one file


class _Restart(Exception):
    """The server sent bytes that cannot extend the ``.part`` file; start it again."""


def _part_path(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _unreachable(url: str, path: Path, reason: object) -> SlicError:
    if urlparse(url).scheme == "file":  # a local mirror: no network involved
        return SlicError(f"{urllib.request.url2pathname(urlparse(url).path)} does not exist or cannot be read, so {path.name} "
                         f"cannot be copied from the mirror ({reason}); put the file there, or in {path.parent} by hand.")
    host = urlparse(url).netloc or url
    part = _part_path(path)
    kept = f" ({part.stat().st_size} bytes kept in {part.name} to resume)" if part.exists() and part.stat().st_size else ""
    return SlicError(
        f"cannot reach {host} to download {path.name} ({reason}){kept}; check your network and run "
        f"again, or put the files in {path.parent} by hand."
    )


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """Parse ``Content-Range: bytes START-END/TOTAL`` (or ``bytes */TOTAL``) into (start, total)."""
    if not header or not header.startswith("bytes "):
        return None, None
    span, _, total = header[6:].partition("/")
    start = None if span.strip() == "*" else int(span.split("-")[0])
    return start, (None if total.strip() in ("", "*") else int(total))


def _open(url: str, offset: int):
    """Open ``url`` asking for bytes from ``offset``; returns the response or ``None`` on HTTP 416."""
    request = urllib.request.Request(url, headers={"User-Agent": "slic_lib"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT)  # noqa: S310 (http/https URLs only)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            _, total = _content_range(exc.headers.get("Content-Range"))
            exc.close()
            return total  # the .part may already hold the whole file
        raise


def download(
    url: str,
    path: str | os.PathLike,
    expected_sha256: str | None = None,
    progress: bool = True,
    expected_size: int | None = None,
    _restarts: int = 1,
) -> Path:
    """Download ``url`` to ``path``, resuming a previous partial transfer.

    The bytes go to ``<path>.part``. If that file exists, the request asks only for the missing
    bytes (``Range``); a server that answers 200 instead of 206 restarts the file from zero. The
    ``.part`` file is renamed to ``path`` only once it is complete (its length matches the
    server's) and, if ``expected_sha256``/``expected_size`` are given, verified.

    Parameters
    ----------
    url
        ``http(s)://`` URL of the file (redirects, as GitHub uses, are followed).
    path
        Final file name.
    expected_sha256, expected_size
        Known digest / size; a mismatch deletes the ``.part`` (it cannot be repaired by
        resuming) and raises :class:`SlicError`.
    progress
        Show a tqdm progress bar.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    SlicError
        The server cannot be reached, the connection broke (the partial file is kept, so running
        again resumes), the server answered an HTTP error, or the file does not verify.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = _part_path(path)
    offset = part.stat().st_size if part.exists() else 0
    try:
        response = _open(url, offset)
    except urllib.error.HTTPError as exc:
        raise SlicError(
            f"{urlparse(url).netloc} answered HTTP {exc.code} {exc.reason} for {url}; check the URL "
            f"or put the files in {path.parent} by hand."
        ) from exc
    except (urllib.error.URLError, OSError, HTTPException) as exc:
        raise _unreachable(url, path, getattr(exc, "reason", exc)) from exc

    try:
        if response is None or isinstance(response, int):  # HTTP 416: nothing left to send
            total = response
            if total is None or total != offset:  # the .part is not a prefix of this file
                raise _Restart("the server refused the range")
        else:
            total = _receive(response, part, offset, url, path, progress)
    except _Restart as why:
        if not _restarts:
            raise SlicError(f"{urlparse(url).netloc} sent inconsistent byte ranges for {path.name}; "
                            f"delete {part} and run again.") from why
        log.info("%s for %s; restarting from zero", why, path.name)
        part.unlink(missing_ok=True)
        return download(url, path, expected_sha256, progress, expected_size, _restarts - 1)

    size = part.stat().st_size
    if total is not None and size != total:
        raise _unreachable(url, path, f"the connection closed after {size} of {total} bytes")
    _verify(part, path, expected_sha256, expected_size)
    os.replace(part, path)
    return path


def _receive(response, part: Path, offset: int, url: str, path: Path, progress: bool) -> int | None:
    """Stream ``response`` into ``part``; returns the total size the server announced."""
    with response:
        if response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != offset:  # a range we did not ask for: do not splice it in
                raise _Restart(f"the server sent bytes from {start} instead of {offset}")
            mode = "ab"
        else:  # 200: the server ignored Range (or there was none); start from zero
            if offset:
                log.info("server ignored the Range request for %s; restarting from zero", path.name)
            offset, mode = 0, "wb"
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None else None
        with open(part, mode) as fh, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
            desc=path.name, disable=not progress,
        ) as bar:
            try:
                while block := response.read(CHUNK):
                    fh.write(block)
                    bar.update(len(block))
            except (OSError, HTTPException) as exc:  # includes timeouts, resets, IncompleteRead
                fh.flush()
                raise _unreachable(url, path, f"the connection broke: {exc or type(exc).__name__}") from exc
    return total


def _verify(part: Path, path: Path, expected_sha256: str | None, expected_size: int | None) -> None:
    size = part.stat().st_size
    problem = None
    if expected_size is not None and size != expected_size:
        problem = f"{size} bytes instead of {expected_size}"
    elif expected_sha256 is not None and sha256sum(part) != expected_sha256.lower():
        problem = "a different sha256 than expected"
    if problem:
        part.unlink()
        raise SlicError(f"the download of {path.name} has {problem} and was deleted; run again to re-download it.")


# --------------------------------------------------------------------------- datasets


def _mirror_url(base_url: str | None) -> str | None:
    """``--base-url`` as a URL: a local folder (an offline mirror) becomes ``file://``; anything
    that is neither a folder nor an http(s)/file URL is refused before any download."""
    if base_url is None:
        return None
    if Path(base_url).expanduser().is_dir():
        return Path(base_url).expanduser().resolve().as_uri()
    if urllib.parse.urlparse(base_url).scheme not in ("http", "https", "file"):
        raise SlicError(f"--base-url {base_url} is neither a folder nor an http(s):// or file:// URL.")
    return base_url


def fetch(
    name: str,
    dest: str | os.PathLike | None = None,
    base_url: str | None = None,
    force: bool = False,
    progress: bool = True,
) -> dict[str, Path]:
    """Download (or verify) every file of a dataset.

    Files already in ``dest`` are not downloaded again but checked against the size and sha256
    recorded in ``MANIFEST.json``; a file found without a manifest entry (put there by hand) is
    hashed and recorded. The manifest is rewritten after every file, so finished files stay
    recorded if a later one fails.

    Parameters
    ----------
    name
        Key of :data:`DATASETS` (``"slic-release"``).
    dest
        Folder; default ``slic_lib.paths.data_root() / name``.
    base_url
        Mirror to download from instead of the dataset's own base URL.
    force
        Delete existing files, partial files and manifest entries, and download again.
    progress
        Show tqdm progress bars.

    Returns
    -------
    dict
        File name -> path of the verified file.
    """
    if name not in DATASETS:
        raise SlicError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}.")
    dataset = DATASETS[name]
    dest = paths.make_folder(dest if dest is not None else paths.data_root() / name, "--dest", f"the {name} files")
    base_url = _mirror_url(base_url)
    manifest = read_manifest(dest)
    out: dict[str, Path] = {}
    for remote in dataset.files:
        target = dest / remote.name
        url = dataset.url(remote.name, base_url)
        if force:
            target.unlink(missing_ok=True)
            _part_path(target).unlink(missing_ok=True)
            manifest.pop(remote.name, None)
        known = manifest.get(remote.name, {})
        sha = remote.sha256 or known.get("sha256")
        size = remote.size if remote.size is not None else known.get("size")
        if target.exists():
            digest = _check_existing(target, sha, size, progress)
            if not known:  # put there by hand: its content is checked once, before it is recorded
                _check_content(target, fresh=False)
        else:
            download(url, target, expected_sha256=sha, progress=progress, expected_size=size)
            if sha is None:
                _check_content(target, fresh=True)
            digest = sha or sha256sum(target, progress)
        manifest[remote.name] = {"size": target.stat().st_size, "sha256": digest, "url": url}
        write_manifest(dest, manifest)
        out[remote.name] = target
    return out


def _check_content(path: Path, fresh: bool) -> None:
    """Refuse a file that is not what its name says: weights a PyTorch mapping, data a NumPy ``.npz``.

    The release publishes no checksums, so a mirror's "Not Found" page, or random bytes, would
    otherwise be recorded in the manifest on first use and accepted from then on. A file just
    downloaded is deleted (the next call downloads it again); one put there by hand is left.
    """
    what = "a PyTorch file of weights" if path.suffix == ".pth" else "a NumPy .npz archive of arrays"
    try:
        if path.suffix == ".pth":
            import torch

            # no mmap: the 2019 release may be in torch's legacy (pre-zip) format, which mmap cannot read
            ok = isinstance(torch.load(path, map_location="cpu", weights_only=True), Mapping)
        else:
            import numpy as np

            with np.load(path, allow_pickle=False) as npz:
                ok = bool(npz.files)
    except Exception:  # noqa: BLE001 - whatever the loader says, the file is not usable
        ok = False
    if not ok:
        with open(path, "rb") as fh:
            start = fh.read(40).decode("ascii", "replace").split("\n")[0].strip()
        if fresh:
            path.unlink()
        raise SlicError(f"{path.name} is not {what} (it begins {start!r}): "
                        + ("the server sent something else; check --base-url and try again." if fresh
                           else "replace it with the release's file, or use --force to download it again."))


def _check_existing(target: Path, sha: str | None, size: int | None, progress: bool) -> str:
    """Verify a file already on disk against the known size/sha256; returns its sha256."""
    actual_size = target.stat().st_size
    digest = sha256sum(target, progress) if (size is None or actual_size == size) else None
    if (size is not None and actual_size != size) or (sha is not None and digest != sha):
        raise SlicError(
            f"{target} does not match the size and sha256 recorded in {MANIFEST} when it was first "
            f"downloaded; use --force to re-download it."
        )
    return digest  # type: ignore[return-value]


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``slic fetch``."""
    parser.add_argument("dataset", choices=sorted(DATASETS), help="what to download")
    parser.add_argument("--dest", type=Path, default=None, help="folder (default: data/<dataset>)")
    parser.add_argument("--base-url", default=None, help="download from this mirror instead: an http(s):// or file:// URL, or a local folder")
    parser.add_argument("--force", action="store_true", help="delete existing files and download again")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """Run ``slic fetch``: download or verify, then print one line per file."""
    dest = args.dest if args.dest is not None else paths.data_root() / args.dataset
    before = {} if args.force or not Path(dest).is_dir() else read_manifest(Path(dest))
    files = fetch(args.dataset, dest=args.dest, base_url=args.base_url, force=args.force,
                  progress=not args.no_progress)
    for filename, path in files.items():
        # the release publishes no checksums: a first download is recorded (trust on first use), later ones checked against it
        how = f"same sha256 as recorded in {MANIFEST}" if filename in before else f"sha256 recorded in {MANIFEST}"
        print(f"{filename}: {path} ({path.stat().st_size} bytes, {how})")
    return 0

