"""slic classify: one row per input, exit codes, Parquet/CSV round trips, provenance, resume, lock, Dask."""

import csv
import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from astropy.io import fits
from astropy.table import Table

from slic_lib import catalogue as cat
from slic_lib.classes import CLASSES
from slic_lib.classify import EXIT_NONE_CLASSIFIED, EXIT_OK, EXIT_SOME_FAILED, classify_files, expand_inputs
from slic_lib.cli import main
from slic_lib.errors import SlicError
from slic_lib.model import read_checkpoint

FLOAT32 = ["--precision", "float32", "--workers", "0", "--no-progress"]


@pytest.fixture(scope="module")
def model(dataset_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", str(dataset_file), "--out", str(out), "--lr", "5e-3", "--epochs", "6", "--batch-size", "8",
                 "--width", "0.125", "--hidden", "32", "--no-progress"]) == 0
    assert main(["calibrate", str(out / "best.pt"), str(dataset_file)]) == 0
    return out / "best.pt"


@pytest.fixture(scope="module")
def uncalibrated(model, tmp_path_factory):
    ckpt = read_checkpoint(model)
    ckpt.metrics = {k: v for k, v in ckpt.metrics.items() if k != "calibration"}
    from slic_lib.model import save_checkpoint

    return save_checkpoint(ckpt, tmp_path_factory.mktemp("unc") / "plain.pt")


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal catalogues, but for float32 rounding that differs with batch composition."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for col in a.columns:
        if pd.api.types.is_float_dtype(a[col]) and pd.api.types.is_float_dtype(b[col]):
            np.testing.assert_allclose(a[col], b[col], rtol=1e-4, atol=1e-6, err_msg=col)
        else:
            assert list(a[col].fillna("")) == list(b[col].fillna("")), col


def _mixed(fits_tree, tmp_path):
    html = tmp_path / "download.fits"
    html.write_text("<html><body>Service Unavailable</body></html>")
    plain = tmp_path / "plain_int16.fits"  # no coordinate keywords at all
    fits.PrimaryHDU(fits.getdata(sorted((fits_tree / "sunspots").glob("*.fits"))[0]).astype(np.int16)).writeto(plain)
    zero = tmp_path / "zero.fits"
    fits.PrimaryHDU(np.zeros((8, 8), np.float32)).writeto(zero)
    good = sorted((fits_tree / "sunspots").glob("*.fits"))[1:4]
    return [*good, plain, html, zero, tmp_path / "missing.fits"]


def test_every_input_gets_one_row_with_facts_and_exit_3(model, fits_tree, tmp_path, capsys):
    files = _mixed(fits_tree, tmp_path)
    out = tmp_path / "cat.csv"
    assert main(["classify", *map(str, files), "--model", str(model), "--out", str(out), *FLOAT32]) == EXIT_SOME_FAILED
    summary = capsys.readouterr().out
    assert "4 classified, 3 errors" in summary and "not-fits 1" in summary and "out of distribution" in summary
    df = pd.read_csv(out)
    assert list(df.columns) == cat.columns(CLASSES)
    assert list(df["path"]) == list(map(str, files))
    ok = df[df.status == "ok"]
    assert len(ok) == 4 and (ok["label"] == "sunspots").sum() >= 3
    np.testing.assert_allclose(ok[[f"p_{c}" for c in CLASSES]].sum(axis=1), 1, atol=1e-6)
    assert ok["confidence"].between(0.2, 1).all() and ok["ood_score"].notna().all()
    plain = df.set_index("path").loc[str(files[3])]
    assert plain["reader"] == "astropy" and plain["status"] == "ok"
    wcs = df.set_index("path").loc[str(files[0])]
    assert wcs["reader"] == "sunpy" and wcs["wavelength"] == 6563 and wcs["date_obs"].startswith("2012-03")
    err = df[df.status == "error"].set_index("path")["error"]
    assert "looks like an HTML page" in err[str(files[4])]
    assert "zero" in err[str(files[5])] and "does not exist" in err[str(files[6])]


def test_exit_codes_all_and_none(model, fits_tree, tmp_path):
    good = sorted((fits_tree / "quiet").glob("*.fits"))[:2]
    assert main(["classify", *map(str, good), "--model", str(model), "--out", str(tmp_path / "a.csv"), *FLOAT32]) == EXIT_OK
    bad = [str(tmp_path / "x.fits"), str(tmp_path / "y.fits")]
    assert main(["classify", *bad, "--model", str(model), "--out", str(tmp_path / "b.csv"), *FLOAT32]) == EXIT_NONE_CLASSIFIED


def test_help_documents_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["classify", "--help"])
    text = capsys.readouterr().out
    assert "exit status" in text and "3  some input files" in text and "4  no input file" in text


def test_inputs_folders_globs_and_lists(fits_tree, tmp_path, monkeypatch):
    lst = tmp_path / "list.txt"
    one = sorted((fits_tree / "flares").glob("*.fits"))[0]
    lst.write_text(f"# a comment\n{one}\n\n{tmp_path / 'gone.fits'}\n")
    found = expand_inputs([fits_tree / "quiet", str(fits_tree / "sunspots" / "*.fits"), str(one)], str(lst))
    assert len(found) == 12 + 12 + 1 + 1  # `one` only once
    assert found[-1] == tmp_path / "gone.fits"
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{one}\n"))
    assert expand_inputs([], "-") == [one]
    warned = []
    assert expand_inputs([str(tmp_path / "*.nothing")], warn=warned.append) == [] and warned


def test_folders_are_searched_through_links_without_looping(fits_tree, tmp_path):
    archive = tmp_path / "archive"
    (archive / "2012").mkdir(parents=True)
    own = archive / "2012" / "own.fits"
    own.write_bytes((sorted((fits_tree / "flares").glob("*.fits"))[0]).read_bytes())
    (archive / "2012" / "quiet").symlink_to(fits_tree / "quiet", target_is_directory=True)  # an archive tree of links
    (archive / "2012" / "up").symlink_to(archive, target_is_directory=True)  # a link back up: no loop
    found = expand_inputs([archive])
    assert found == sorted(found) and own in found
    assert len(found) == 1 + 12  # each real folder once: the loop adds nothing
    assert archive / "2012" / "quiet" / sorted(p.name for p in (fits_tree / "quiet").glob("*.fits"))[0] in found
    assert expand_inputs([str(archive / "*")]) == found  # a glob's folders alike
    (archive / "2012" / "gone.fits").symlink_to(tmp_path / "deleted.fits")  # a link whose file is gone
    assert archive / "2012" / "gone.fits" in expand_inputs([archive])  # kept: its row will say what is wrong


def test_parquet_and_csv_round_trip_with_provenance(model, fits_tree, tmp_path):
    files = sorted((fits_tree / "filaments").glob("*.fits"))[:3] + [tmp_path / "missing.fits"]
    frames = {}
    for suffix in ("parquet", "csv"):
        out = tmp_path / f"cat.{suffix}"
        res = classify_files(files, model, out, precision="float32", workers=0, progress=False)
        assert res.exit_code == EXIT_SOME_FAILED
        frames[suffix] = pd.read_csv(out) if suffix == "csv" else pd.read_parquet(out)
        table = Table.read(out, format="ascii.csv" if suffix == "csv" else "parquet")
        assert len(table) == 4 and list(table["path"]) == list(map(str, files))
        prov = json.loads(pq.read_schema(out).metadata[b"slic"]) if suffix == "parquet" else json.loads(cat.sidecar(out).read_text())
        assert prov["model_sha256"] == cat.sha256(model) and prov["slic_lib_version"]
        assert prov["preprocessing"] == {"size": 32, "mode": "standard"} and prov["calibration"]["temperature"] > 0
    p, c = frames["parquet"], frames["csv"]
    assert list(p["status"]) == list(c["status"]) and list(p["label"].fillna("")) == list(c["label"].fillna(""))
    np.testing.assert_allclose(p["p_filaments"], c["p_filaments"], rtol=1e-12)
    assert p["ood_flag"].iloc[3] is None and p["hdu"].iloc[0] == 0


def test_uncalibrated_model_still_classifies(uncalibrated, fits_tree, tmp_path, capsys):
    out = tmp_path / "u.parquet"
    files = sorted((fits_tree / "quiet").glob("*.fits"))[:2]
    assert main(["classify", *map(str, files), "--model", str(uncalibrated), "--out", str(out), *FLOAT32]) == 0
    assert "uncalibrated" in capsys.readouterr().out
    df = pd.read_parquet(out)
    assert df["ood_flag"].isna().all() and df["confidence"].notna().all()
    assert json.loads(pq.read_schema(out).metadata[b"slic"])["calibration"] == "uncalibrated"


def test_resume_with_another_model_is_refused(model, uncalibrated, fits_tree, tmp_path, capsys):
    out = tmp_path / "cat.parquet"
    files = sorted((fits_tree / "quiet").glob("*.fits"))[:2]
    assert main(["classify", *map(str, files), "--model", str(model), "--out", str(out), *FLOAT32]) == 0
    assert main(["classify", *map(str, files), "--model", str(uncalibrated), "--out", str(out), *FLOAT32]) == 1
    err = capsys.readouterr().err
    assert "another model" in err and "choose another --out" in err


def test_csv_cut_mid_row_is_repaired_not_trusted(model, fits_tree, tmp_path):
    files = sorted((fits_tree / "prominences").glob("*.fits"))[:6]
    out = tmp_path / "cat.csv"
    classify_files(files, model, out, precision="float32", workers=0, progress=False)
    whole = out.read_text()
    lines = whole.splitlines(keepends=True)
    out.write_text("".join(lines[:4]) + lines[4][: len(lines[4]) // 2])  # cut inside row 4
    res = classify_files(files, model, out, precision="float32", workers=0, progress=False)
    assert res.new == 3 and res.repaired == 1
    rows = list(csv.DictReader(out.open()))
    assert [r["path"] for r in rows] == list(map(str, files))
    _same_rows(pd.read_csv(out), pd.read_csv(io.StringIO(whole)))  # as the uninterrupted run's catalogue


def test_old_csv_without_provenance_is_not_trusted(model, fits_tree, tmp_path, capsys):
    out = tmp_path / "old.csv"
    out.write_text("path,label,status,error,p_filaments,p_flares,p_prominences,p_quiet,p_sunspots\n/x.fits,quiet,ok,,0.1,0.1,0.1,0.6,0.1\n")
    assert main(["classify", str(fits_tree / "quiet"), "--model", str(model), "--out", str(out), *FLOAT32]) == 1
    assert "no provenance record" in capsys.readouterr().err


def test_a_second_run_on_the_same_out_is_refused(model, fits_tree, tmp_path, capsys):
    out = tmp_path / "cat.csv"
    with cat.Lock(out):
        assert main(["classify", str(fits_tree / "quiet"), "--model", str(model), "--out", str(out), *FLOAT32]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "another slic classify is writing" in err[0]
    assert not out.exists()


def test_features_keeps_only_those_rows_and_still_resumes(model, fits_tree, tmp_path):
    files = sorted((fits_tree / "sunspots").glob("*.fits"))[:4] + sorted((fits_tree / "quiet").glob("*.fits"))[:4]
    out = tmp_path / "spots.csv"
    res = classify_files(files, model, out, precision="float32", workers=0, progress=False, features=["sunspots"])
    df = pd.read_csv(out)
    assert len(df) == sum(r["label"] == "sunspots" for r in res.rows) and (df["label"] == "sunspots").all()
    assert f"written to {out}: the {len(df)} row(s) of sunspots (--features)" in res.summary()  # not the 8 its counts show
    again = classify_files(files, model, out, precision="float32", workers=0, progress=False, features=["sunspots"])
    assert again.new == 0 and pd.read_csv(out).equals(df)
    with pytest.raises(Exception, match="unknown class"):
        classify_files(files, model, out, features=["loops"])


def test_decoding_processes_give_the_same_rows(model, fits_tree, tmp_path):
    files = sorted((fits_tree / "flares").glob("*.fits"))[:5]
    a = classify_files(files, model, None, precision="float32", workers=0, progress=False).rows
    b = classify_files(files, model, None, precision="float32", workers=1, batch_size=2, progress=False).rows
    _same_rows(pd.DataFrame(a), pd.DataFrame(b))


def test_dask_local_cluster_gives_the_same_rows(model, fits_tree, tmp_path):
    from dask.distributed import Client, LocalCluster

    # 7 batches of one against 2 x 2 submitted ahead: more batches than the first submission (a batch was lost there)
    files = sorted((fits_tree / "filaments").glob("*.fits"))[:6] + [tmp_path / "missing.fits"]
    single = classify_files(files, model, tmp_path / "single.parquet", precision="float32", workers=0, batch_size=1,
                            progress=False)
    # processes=False: two one-thread workers in this process (spawning worker processes takes longer here)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        spread = classify_files(files, model, tmp_path / "dask.parquet", precision="float32", batch_size=1, dask=client,
                                progress=False)
    assert len(spread.rows) == len(files) and spread.new == len(files)
    assert spread.rows == single.rows
    assert pd.read_parquet(tmp_path / "dask.parquet").equals(pd.read_parquet(tmp_path / "single.parquet"))


def test_dask_addresses_that_give_no_cluster_are_one_sentence_and_leave_nothing(model, fits_tree, tmp_path, monkeypatch):
    from dask.distributed import LocalCluster

    from slic_lib import cluster

    files = sorted((fits_tree / "flares").glob("*.fits"))[:2]
    out = tmp_path / "c.csv"
    with pytest.raises(SlicError, match="cannot connect to the Dask scheduler at tls://127.0.0.1:1"):
        classify_files(files, model, out, dask="tls://127.0.0.1:1", progress=False)  # was a TypeError traceback
    assert not cat.journal_dir(out).exists()  # an empty unfinished run there had blocked the next one (another model)
    monkeypatch.setattr(cluster, "DASK_WORKER_WAIT", 1.0)
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as empty:  # a scheduler no worker joined
        with pytest.raises(SlicError, match="has no worker .* start one with: dask worker"):
            classify_files(files, model, out, dask=empty.scheduler_address, progress=False)  # had waited for good
    assert not cat.journal_dir(out).exists() and not out.exists()
    done = classify_files(files, model, out, precision="float32", workers=0, progress=False)  # the next run is not blocked
    assert done.new == 2


def test_a_dask_cluster_that_goes_away_is_one_sentence_and_keeps_the_rows(model, fits_tree, tmp_path, monkeypatch):
    import dask.distributed
    from distributed.client import FutureCancelledError

    rows = classify_files(sorted((fits_tree / "quiet").glob("*.fits"))[:3], model, None, precision="float32", workers=0,
                          progress=False).rows

    class Done:  # the first batch's rows, then the scheduler's connection lost
        def __init__(self, value):
            self.value = value

        def result(self):
            if self.value is None:
                raise FutureCancelledError("x", reason="scheduler-connection-lost")
            return self.value

    class Client:
        def scheduler_info(self):
            return {"workers": {"a": {}}}

    batches = iter([[rows[0]], None])
    monkeypatch.setattr(dask.distributed, "as_completed", lambda futures: iter([Done(next(batches)), Done(next(batches))]))
    monkeypatch.setattr(Client, "submit", lambda self, *a, **k: None, raising=False)
    out = tmp_path / "c.csv"
    files = sorted((fits_tree / "quiet").glob("*.fits"))[:3]
    with pytest.raises(SlicError, match=r"the Dask cluster stopped after 1 of 3 files .*scheduler-connection-lost.*run the same command again"):
        classify_files(files, model, out, dask=Client(), precision="float32", progress=False)
    assert len(list(cat.journal_dir(out).glob("part-*"))) == 1  # the first batch's row, committed
    rerun = classify_files(files, model, out, precision="float32", workers=0, progress=False)
    assert rerun.new == 2 and len(pd.read_csv(out)) == 3


def test_a_file_without_a_row_is_an_error_never_a_silent_success(model, fits_tree, tmp_path, monkeypatch):
    from slic_lib import classify

    real = classify.finish
    monkeypatch.setattr(classify, "finish", lambda *a, **k: (lambda rows, s: (rows[:-1], s))(*real(*a, **k)))  # loses a row
    files = sorted((fits_tree / "quiet").glob("*.fits"))[:4]
    with pytest.raises(SlicError, match="2 of 4 files got no row"):
        classify_files(files, model, tmp_path / "c.csv", precision="float32", workers=0, batch_size=2, progress=False)


def test_merge_keeps_each_paths_last_row_where_it_was_first_found_and_orders_inputs_last():
    names = ("a", "b")
    first = cat.to_table([{"path": p, "status": s} for p, s in [("x", "ok"), ("y", "error"), ("z", "ok")]], names)
    later = cat.to_table([{"path": p, "status": "ok"} for p in ["w", "y", "v"]], names)
    everything, inputs = cat.merge([first, later], ["v", "y"])
    assert everything.column("path").to_pylist() == ["x", "z", "w", "v", "y"]
    assert everything.column("status").to_pylist() == ["ok", "ok", "ok", "ok", "ok"]  # y retried: its new row
    assert inputs.column("path").to_pylist() == ["v", "y"]


def test_a_rerun_from_another_folder_or_spelling_resumes_and_retries_failed_files(model, fits_tree, tmp_path, monkeypatch):
    """Paths are stored absolute: ``f.fits``, ``./f.fits`` and ``/abs/f.fits`` are one file, one row.
    A file whose row is an error (a failed download) is tried again by the rerun and its row replaced."""
    archive = tmp_path / "archive"
    archive.mkdir()
    good = sorted((fits_tree / "quiet").glob("*.fits"))[:2]
    for f in good:
        (archive / f.name).write_bytes(f.read_bytes())
    late = archive / "late.fits"
    late.write_text("<html>503 Service Unavailable</html>")
    out = tmp_path / "cat.csv"
    monkeypatch.chdir(archive)
    first = classify_files(["."], model, out, workers=0, progress=False, precision="float32")
    assert first.new == 3 and first.exit_code == EXIT_SOME_FAILED
    assert set(pd.read_csv(out)["path"]) == {str(archive / f.name) for f in good} | {str(late)}
    late.write_bytes(good[0].read_bytes())  # downloaded again, whole
    monkeypatch.chdir(tmp_path)
    again = classify_files([str(archive), f"archive/../archive/{good[1].name}"], model, out, workers=0, progress=False,
                           precision="float32")
    assert again.new == 1 and again.exit_code == EXIT_OK  # only the failed file was classified again
    df = pd.read_csv(out)
    assert len(df) == 3 and set(df["status"]) == {"ok"}


def test_an_output_folder_that_cannot_be_written_is_one_sentence(model, fits_tree, tmp_path):
    if os.geteuid() == 0:
        target = Path("/proc/slic-catalogue.csv")  # root writes anywhere else; procfs refuses new files
    else:
        locked = tmp_path / "ro"
        locked.mkdir(mode=0o555)
        target = locked / "cat.csv"
    with pytest.raises(SlicError, match="cannot write the catalogue's lock"):
        classify_files([fits_tree], model, target, workers=0, progress=False)


def test_a_real_aia_171_frame_is_flagged_by_its_header_even_by_an_uncalibrated_model(uncalibrated, tmp_path):
    """The features of the simulator's AIA frames look like its H-alpha frames' to a network trained on
    H-alpha (the paper's finding, and the reason the score alone does not flag them), so the catalogue
    also flags a frame whose header puts it outside H-alpha: here sunpy's real AIA 171 test image."""
    from sunpy.data.test import get_test_filepath

    from slic_lib.classify import classify_files

    aia = get_test_filepath("aia_171_level1.fits")
    result = classify_files([aia], uncalibrated, tmp_path / "cat.csv", progress=False, workers=0, precision="float32")
    row = result.rows[0]
    assert row["status"] == "ok" and row["wavelength"] == pytest.approx(171.0)
    assert row["ood_flag"] is True
    assert "by the header's wavelength (ood_flag): 1" in result.summary()  # the summary counts what the rows say


def test_a_frame_without_positive_pixels_is_one_error_row_for_a_relative_model(tmp_path):
    from astropy.io import fits

    from slic_lib.classify import decode
    from slic_lib.preprocess import PreprocessConfig

    fits.writeto(tmp_path / "dark.fits", -np.abs(np.random.default_rng(0).normal(5, 1, (64, 64))).astype(np.float32))
    row, image = decode(str(tmp_path / "dark.fits"), PreprocessConfig(size=32, mode="relative"))
    assert image is None and row["status"] == "error" and row["error_kind"] == "unusable"
    assert "dark level" in row["error"]


def test_a_file_name_with_a_line_break_is_one_csv_row_across_reruns(model, fits_tree, tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    odd = folder / "two\nlines.fits"
    odd.write_bytes(sorted((fits_tree / "quiet").glob("*.fits"))[0].read_bytes())
    out = tmp_path / "cat.csv"
    for run in range(2):
        result = classify_files([folder], model, out, workers=0, progress=False, precision="float32")
        assert result.new == (1 if run == 0 else 0)  # the rerun finds the row: no phantom, no second classification
    df = pd.read_csv(out)
    assert list(df["path"]) == [str(odd)] and list(df["status"]) == ["ok"]


def test_whole_path_on_plain_frames_cpu(tmp_path):
    """tests/test_gpu.py's build-train-calibrate-classify path, run here on the CPU (auto precision),
    so that CI checks the function the GPU machine runs."""
    from test_gpu import whole_path

    whole_path(tmp_path, "cpu")


def test_out_that_is_a_folder_is_one_sentence_before_any_work(model, fits_tree, tmp_path):
    (tmp_path / "dir.parquet").mkdir()
    files = sorted((fits_tree / "flares").glob("*.fits"))[:1]
    for flags in ([], ["--overwrite"]):  # the advice to pass --overwrite ended in IsADirectoryError
        code = main(["classify", *map(str, files), "--model", str(model), "--out", str(tmp_path / "dir.parquet"), "--no-progress", *flags])
        assert code == 1
    with pytest.raises(SlicError, match="is a folder; name the catalogue file"):
        classify_files(files, model, tmp_path / "dir.parquet", progress=False)
    assert not cat.journal_dir(tmp_path / "dir.parquet").exists()


def test_a_file_name_that_is_not_utf8_is_classified_and_named_with_escapes(model, fits_tree, tmp_path):
    # one Latin-1 name stopped the whole archive with a UnicodeEncodeError from Arrow, run after run
    import shutil
    import subprocess
    import sys

    folder = tmp_path / "arch"
    folder.mkdir()
    src = sorted((fits_tree / "quiet").glob("*.fits"))[:2]
    shutil.copy(src[0], folder / "a.fits")
    odd = os.fsdecode(bytes(folder) + b"/zz_caf\xe9.fits")
    shutil.copy(src[1], odd)
    for suffix in ("csv", "parquet"):
        out = tmp_path / f"c.{suffix}"
        cmd = [sys.executable, "-m", "slic_lib.cli", "classify", str(folder), "--model", str(model), "--out", str(out),
               "--precision", "float32", "--workers", "0", "--no-progress"]
        first = subprocess.run(cmd, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1", "LC_ALL": "C.UTF-8"}, timeout=300)
        assert first.returncode == 0, first.stderr.decode(errors="replace")
        df = pd.read_csv(out) if suffix == "csv" else pd.read_parquet(out)
        assert sorted(df["path"]) == sorted([str(folder / "a.fits"), str(folder) + "/zz_caf\\xe9.fits"])
        assert (df["status"] == "ok").all()
        again = subprocess.run(cmd, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1", "LC_ALL": "C.UTF-8"}, timeout=300)
        assert again.returncode == 0 and b"2 classified, 0 errors (0 new this run)" in again.stdout  # resumed: found its rows


def test_list_files_as_find_writes_them(tmp_path):
    from slic_lib.classify import read_list

    lst = tmp_path / "files.txt"
    lst.write_bytes(b"# from find\r\n/data/a.fits\r\n\r\n/data/caf\xe9.fits\n")  # CRLF, a comment, a Latin-1 name
    assert read_list(str(lst)) == ["/data/a.fits", os.fsdecode(b"/data/caf\xe9.fits")]  # was a UnicodeDecodeError
    lst.write_bytes(b"\x89HDF\r\n\x1a\n\x00\x00")
    with pytest.raises(SlicError, match="not a text file of paths"):
        read_list(str(lst))
    with pytest.raises(SlicError, match="is a folder; give the folder itself"):  # was "does not exist"
        read_list(str(tmp_path))


def test_one_path_given_as_a_string_is_one_path(model, fits_tree):
    # a str is iterable: "sim/quiet" was read letter by letter, and "/" walked the whole file system
    folder = fits_tree / "quiet"
    rows = classify_files(str(folder), model, None, precision="float32", workers=0, progress=False).rows
    assert len(rows) == len(list(folder.glob("*.fits"))) and all(r["status"] == "ok" for r in rows)
    assert len(classify_files(folder, model, None, precision="float32", workers=0, progress=False).rows) == len(rows)
    kept = classify_files([folder], model, None, precision="float32", workers=0, features="quiet", progress=False)
    assert kept.rows  # "quiet", not the classes q, u, i, e, t


def test_rows_of_earlier_runs_other_inputs_are_said(model, fits_tree, tmp_path):
    # a mistyped folder's error row stayed in the catalogue while the next run said "0 errors"
    out = tmp_path / "c.csv"
    first = classify_files([tmp_path / "my_fits_foldr"], model, out, precision="float32", workers=0, progress=False)
    assert first.n_ok == 0 and first.other_rows == 0
    files = sorted((fits_tree / "flares").glob("*.fits"))[:3]
    second = classify_files(files, model, out, precision="float32", workers=0, progress=False)
    assert second.n_ok == 3 and (second.other_rows, second.other_errors) == (1, 1) and len(pd.read_csv(out)) == 4
    assert f"{out} also holds 1 row(s) of earlier runs' other inputs (1 of them errors)" in second.summary()

    spots = sorted((fits_tree / "sunspots").glob("*.fits"))[:2]
    third = classify_files(spots, model, out, precision="float32", workers=0, progress=False, features=["sunspots"])
    written = pd.read_csv(out)
    assert third.other_rows == int((~written["path"].isin([str(p.resolve()) for p in spots])).sum())  # what the file holds
    assert third.other_errors == 0 and (written["status"] == "ok").all()
