"""Offline tests of slic_lib.fido: Fido attrs, HEK fallback, cut-outs on a real AIA map, the command."""

from __future__ import annotations

import os
import sys
import warnings

import astropy.units as u
import numpy as np

import pytest
import sunpy.map
from astropy.coordinates import SkyCoord
from astropy.table import Table
from astropy.time import Time
from sunpy.coordinates import frames
from sunpy.data.test import get_test_filepath
from sunpy.net import attrs as a
from sunpy.net import hek

from slic_lib import cli, fido
from slic_lib.errors import SlicError
from slic_lib.observations import OBSERVATIONS

AIA_TEST_FILE = get_test_filepath("aia_171_level1.fits")


@pytest.fixture(scope="module")
def aia_map():
    return sunpy.map.Map(AIA_TEST_FILE)


def attr_of(attrs, kind):
    found = [x for x in attrs if isinstance(x, kind)]
    return found[0] if found else None


# --------------------------------------------------------------------------- registry and queries


def test_observations_cut_from_the_same_frames_share_one_download():
    prominences_2013 = [o.key for o in OBSERVATIONS.values() if o.start.startswith("2013-01-01T10")]
    assert len(prominences_2013) == 2, "the paper shows two prominences on 2013-01-01"
    assert len({fido.cache_dir(k) for k in prominences_2013}) == 1
    assert fido.cache_dir("ar11638-1600") != fido.cache_dir("ar11638-1700")


@pytest.mark.parametrize("key", sorted(OBSERVATIONS))
def test_query_time_range_and_channel(key):
    obs = OBSERVATIONS[key]
    attrs = fido.query(key)
    time = attr_of(attrs, a.Time)
    assert time.start == Time(obs.start) and time.end == Time(obs.end)
    wave = attr_of(attrs, a.Wavelength)
    assert wave.min == obs.wavelength and wave.max == obs.wavelength
    assert attr_of(attrs, a.Instrument).value.upper() == obs.instrument
    if obs.instrument == "SOT":
        assert attr_of(attrs, a.Source).value.lower() == "hinode"


def test_sample_cadence():
    default = attr_of(fido.query("ar11638-1600"), a.Sample)
    assert default.value == pytest.approx(5 * 24)  # registry default: every 5th 24-s frame
    assert attr_of(fido.query("ar11638-1600", sample=10), a.Sample).value == pytest.approx(240)
    assert attr_of(fido.query("prominence-2012-08-31-304", sample=3), a.Sample).value == pytest.approx(36)
    assert attr_of(fido.query("ar11638-1600", sample=1), a.Sample) is None, "sample=1 means every frame"
    assert OBSERVATIONS["ar11638-1600"].frames == 150
    with pytest.raises(SlicError, match="positive whole number"):
        fido.query("ar11638-1600", sample=0)


def test_unknown_name_is_one_sentence():
    with pytest.raises(SlicError, match="slic fido list"):
        fido.query("ar99999-1600")


def test_sot_frames_are_a_manual_step(tmp_path):
    with pytest.raises(SlicError, match=r"sdc\.uio\.no") as info:
        fido.fetch("ar11108-sot-halpha", path=tmp_path)
    assert "\n" not in str(info.value)
    assert "ar11108-sot-halpha" in str(info.value)  # tells where to put the files


def test_a_dest_that_cannot_hold_the_frames_is_one_sentence_before_the_search(tmp_path, monkeypatch):
    monkeypatch.setattr(fido, "search", lambda *a, **k: pytest.fail("searched before the folder was checked"))
    (tmp_path / "afile").write_text("x")
    with pytest.raises(SlicError, match="--dest .*afile is a file"):  # was FileExistsError
        fido.fetch("ar11638-1600", path=tmp_path / "afile")
    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # a read-only file system (root passes chmod 555)
    with pytest.raises(SlicError, match="cannot write in the folder"):  # was OSError: [Errno 30]
        fido.fetch("ar11638-1600", path=tmp_path / "ro")


# --------------------------------------------------------------------------- network, mocked


def test_search_without_network_raises_one_sentence(monkeypatch, capsys):
    from sunpy.net import Fido

    def offline(*args, **kwargs):
        raise ConnectionError("No online VSO mirrors could be found.")

    monkeypatch.setattr(Fido, "search", offline)
    with pytest.raises(SlicError, match="cannot reach the VSO"):
        fido.search("ar11638-1600")
    assert cli.main(["fido", "search", "ar11638-1600"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_fetch_keeps_existing_files_and_reports_failures(monkeypatch, tmp_path):
    from sunpy.net import Fido

    calls = {}

    class Downloaded(list):
        errors: list = []

    def fake_fetch(result, path, overwrite, progress):
        calls.update(path=path, overwrite=overwrite)
        return Downloaded([str(tmp_path / "aia_1.fits")])

    monkeypatch.setattr(fido, "search", lambda key, sample=None: [[1, 2]])
    monkeypatch.setattr(Fido, "fetch", fake_fetch)
    files = fido.fetch("ar11638-1600", path=tmp_path, sample=2, progress=False)
    assert files == [tmp_path / "aia_1.fits"]
    assert calls == {"path": str(tmp_path / "{file}"), "overwrite": False}

    class Failed(list):
        errors = [type("E", (), {"exception": "timeout"})()]

    monkeypatch.setattr(Fido, "fetch", lambda *args, **kwargs: Failed([]))
    with pytest.raises(SlicError, match="run the same command again"):
        fido.fetch("ar11638-1600", path=tmp_path, progress=False)


def test_cli_lists_every_observation_and_names_them_in_help(capsys):
    assert cli.main(["fido", "list"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [r.split()[0] for r in rows] == list(OBSERVATIONS)
    assert "manual" in rows[list(OBSERVATIONS).index("ar11108-sot-halpha")]
    with pytest.raises(SystemExit):
        cli.main(["fido", "fetch", "--help"])
    help_text = "".join(capsys.readouterr().out.split())  # argparse wraps long help lines
    assert all(key in help_text for key in OBSERVATIONS)


# --------------------------------------------------------------------------- region centres


def hek_table(noaa, x, y, when):
    return Table({"ar_noaanum": [noaa, noaa + 1], "hpc_x": [x, 0.0], "hpc_y": [y, 0.0],
                  "event_starttime": [when, when], "frm_name": ["NOAA SWPC Observer"] * 2})


def test_region_center_prefers_hek(monkeypatch):
    table = hek_table(11638, -250.0, 265.0, "2013-01-01T00:00:00")
    monkeypatch.setattr(hek.HEKClient, "search", lambda self, *q: table)
    c = fido.region_center("ar11638-1600")
    assert c.Tx.to_value(u.arcsec) == pytest.approx(-250.0) and c.Ty.to_value(u.arcsec) == pytest.approx(265.0)
    assert c.obstime == Time("2013-01-01T00:00:00"), "the HEK position keeps its own time, rotated later"


def test_region_center_falls_back_to_offline_table(monkeypatch):
    def offline(self, *q):
        raise OSError("Name or service not known")

    monkeypatch.setattr(hek.HEKClient, "search", offline)
    c = fido.region_center("ar12674-1600")
    assert (c.Tx.to_value(u.arcsec), c.Ty.to_value(u.arcsec)) == OBSERVATIONS["ar12674-1600"].center
    assert c.obstime == Time("2017-09-06T12:00:00")
    # the offline centre is on the disk, in the right hemisphere (AR12674 was N12 W30)
    hgs = c.transform_to(frames.HeliographicStonyhurst(obstime=c.obstime))
    assert hgs.lat.to_value(u.deg) == pytest.approx(12, abs=1) and hgs.lon.to_value(u.deg) == pytest.approx(30, abs=1)
    with pytest.raises(SlicError, match="no offline position for AR11108"):
        fido.region_center("ar11108-1600")


# --------------------------------------------------------------------------- cut-outs on a real map


def test_cutout_size_and_centre(aia_map):
    centre = SkyCoord(200 * u.arcsec, -100 * u.arcsec, frame=aia_map.coordinate_frame)
    cut = fido.cutout(aia_map, centre, (400, 300))
    width, height = (d * s for d, s in zip(cut.dimensions, cut.scale))
    assert width.to_value(u.arcsec) == pytest.approx(400, abs=2 * aia_map.scale[0].value)
    assert height.to_value(u.arcsec) == pytest.approx(300, abs=2 * aia_map.scale[1].value)
    mid = cut.pixel_to_world(*(np.array(cut.data.shape[::-1]) - 1) / 2 * u.pix)
    assert mid.Tx.to_value(u.arcsec) == pytest.approx(200, abs=aia_map.scale[0].value)
    assert mid.Ty.to_value(u.arcsec) == pytest.approx(-100, abs=aia_map.scale[1].value)


def test_cutout_rotates_with_the_sun(aia_map):
    day_before = aia_map.date - 1 * u.day
    start = SkyCoord(0 * u.arcsec, 0 * u.arcsec,
                     frame=frames.Helioprojective(observer="earth", obstime=day_before))
    moved = fido.cutout(aia_map, start, (300, 300))
    fixed = fido.cutout(aia_map, start, (300, 300), rotate=False)
    mid = lambda m: m.pixel_to_world(*(np.array(m.data.shape[::-1]) - 1) / 2 * u.pix)  # noqa: E731
    # one day of rotation near disk centre: about 13 degrees, i.e. R_sun sin(13 deg) ~ 220" westward
    assert 180 < mid(moved).Tx.to_value(u.arcsec) < 260
    assert abs(mid(moved).Ty.to_value(u.arcsec)) < 40
    assert abs(mid(fixed).Tx.to_value(u.arcsec)) < 20


def test_load_cuts_every_frame(aia_map):
    centre = SkyCoord(-300 * u.arcsec, 250 * u.arcsec, frame=aia_map.coordinate_frame)
    maps = fido.load("ar11638-1600", files=[AIA_TEST_FILE, AIA_TEST_FILE], center=centre, prep=False)
    assert len(maps) == 2
    size = OBSERVATIONS["ar11638-1600"].size[0]
    for m in maps:
        assert (m.dimensions[0] * m.scale[0]).to_value(u.arcsec) == pytest.approx(size, abs=2 * aia_map.scale[0].value)


def test_load_without_files_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIC_DATA", str(tmp_path))
    with pytest.raises(SlicError, match="slic fido fetch ar12665-1700"):
        fido.load("ar12665-1700")
    with pytest.raises(SlicError, match=r"sdc\.uio\.no"):
        fido.load("ar11108-sot-halpha")


def test_without_aiapy_warns_once_and_keeps_level_1(aia_map, monkeypatch):
    monkeypatch.setitem(sys.modules, "aiapy", None)
    monkeypatch.setitem(sys.modules, "aiapy.calibrate", None)
    monkeypatch.setattr(fido, "_warned_no_aiapy", False)
    with pytest.warns(UserWarning, match="aiapy is not installed"):
        assert fido.prep_aia(aia_map) is aia_map
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fido.prep_aia(aia_map) is aia_map  # no second warning


def test_aiapy_prep_gives_level_1_5_in_dn_per_s(aia_map):
    pytest.importorskip("aiapy.calibrate")
    prepped = fido.prep_aia(aia_map)
    assert prepped.processing_level == 1.5
    assert prepped.unit == u.DN / u.s
    assert np.allclose(prepped.rotation_matrix, np.eye(2), atol=1e-8), "registered maps are north-up"


def test_a_box_outside_the_frame_is_one_sentence(aia_map):
    # frames placed by hand that miss the target gave "image is empty or degenerate, shape (501, 0)"
    far = SkyCoord(5000 * u.arcsec, 0 * u.arcsec, frame=aia_map.coordinate_frame)
    with pytest.raises(SlicError, match=r"lies outside the frame of .* the frame does not show the target"):
        fido.cutout(aia_map, far, (300, 300), rotate=False)


def test_simulated_frames_on_the_fido_path_are_refused(tmp_path, aia_map):
    # they were labelled as observations (synthetic False) in the summary
    path = tmp_path / "sim.fits"
    meta = {k: v for k, v in aia_map.meta.items() if k != "blank"}  # BLANK is for integer data, these are floats
    sunpy.map.Map(aia_map.data, {**meta, "synthet": "T"}).save(path)
    with pytest.raises(SlicError, match="1 of the 2 frames of ar11638-1600 are simulated .*--aia-source simulator"):
        fido.load("ar11638-1600", files=[AIA_TEST_FILE, path], prep=False)


def test_frames_of_an_unfinished_download_are_completed_before_use(tmp_path, monkeypatch):
    # two frames of an interrupted download were taken as the whole hour (n_frames 2 of about 30)
    from slic_lib import experiments
    from slic_lib.experiments.observations import observation_files

    monkeypatch.setenv("SLIC_DATA", str(tmp_path))
    key = "prominence-2012-08-31-304"
    folder = fido.cache_dir(key)
    folder.mkdir(parents=True)
    for i in range(2):
        (folder / f"aia_{i}.fits").write_bytes(b"")
    run = experiments.start("smoke", "simulator", "fido")

    def offline(key, progress=True):
        raise SlicError("cannot reach the VSO")

    monkeypatch.setattr(fido, "fetch", offline)
    with pytest.warns(UserWarning, match="using the 2 frames .* not confirmed as all of them .*cannot reach the VSO"):
        assert len(observation_files(run, key, 3, progress=False)) == 2

    def complete(key, progress=True):
        for i in range(2, 5):
            (folder / f"aia_{i}.fits").write_bytes(b"")
        (folder / fido.COMPLETE).write_text("{}")
        return fido.local_files(key)

    monkeypatch.setattr(fido, "fetch", complete)
    assert len(observation_files(run, key, 3, progress=False)) == 5
    monkeypatch.setattr(fido, "fetch", offline)  # complete: not searched again
    assert len(observation_files(run, key, 3, progress=False)) == 5


def test_fetch_marks_a_folder_complete_only_for_the_notebooks_sampling(monkeypatch, tmp_path):
    from sunpy.net import Fido

    class Downloaded(list):
        errors: list = []

    monkeypatch.setenv("SLIC_DATA", str(tmp_path))
    monkeypatch.setattr(fido, "search", lambda key, sample=None: [[1, 2, 3]])
    monkeypatch.setattr(Fido, "fetch", lambda result, path, overwrite, progress: Downloaded(["a.fits"]))
    key = "ar11638-1600"
    fido.fetch(key, sample=50, progress=False)
    assert not fido.is_complete(key)  # every 50th frame is not what the notebooks read
    fido.fetch(key, progress=False)
    assert fido.is_complete(key)
