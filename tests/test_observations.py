"""Tests of slic_lib.observations: the paper's test observations, written once and read by Fido and
the simulator."""

from __future__ import annotations

import datetime as dt
import math

import astropy.units as u
import pytest
from astropy.time import Time

from slic_lib import observations
from slic_lib.classes import CLASSES
from slic_lib.cli import main
from slic_lib.errors import SlicError
from slic_lib.observations import OBSERVATIONS, adversarial_tests, observation, resolution_pair
from slic_lib.synthetic import AIA_KINDS

RSUN_ARCSEC = 960.0  # within ~2 % over the year


def test_keys_are_unique_and_folder_safe():
    assert len(observations._ALL) == len(OBSERVATIONS), "two observations share a key"
    for key, obs in OBSERVATIONS.items():
        assert obs.key == key
        assert key == key.lower() and all(c.isalnum() or c == "-" for c in key)


def test_every_observation_the_paper_names_and_no_other():
    seen = {(o.target.split(",")[0], o.instrument, o.wavelength.to_value(u.AA), o.start, o.end)
            for o in OBSERVATIONS.values()}
    paper = [
        *(("AR11638", "AIA", w, "2013-01-01T12:00:00", "2013-01-01T13:00:00") for w in (1600, 1700)),
        *(("AR12665", "AIA", w, "2017-07-10T12:00:00", "2017-07-10T13:00:00") for w in (1600, 1700)),
        *(("AR12674", "AIA", w, "2017-09-06T12:00:00", "2017-09-06T13:00:00") for w in (1600, 1700)),
        ("AR11108", "AIA", 1600, "2010-09-25T08:05:00", "2010-09-25T09:20:00"),
        ("AR11108", "SOT", 6563, "2010-09-25T08:05:00", "2010-09-25T09:20:00"),
        ("prominence", "AIA", 304, "2012-08-31T12:00:00", "2012-08-31T13:00:00"),
        ("prominence", "AIA", 304, "2013-01-01T10:00:00", "2013-01-01T11:00:00"),
    ]
    assert seen == set(paper)
    assert sum(o.start == "2013-01-01T10:00:00" for o in OBSERVATIONS.values()) == 2, "two prominences that hour"


def test_expected_class_is_a_class_and_follows_the_target():
    for obs in OBSERVATIONS.values():
        assert obs.expected_class in CLASSES
        assert obs.expected_class == ("sunspots" if obs.noaa else "prominences")
    with pytest.raises(ValueError, match="expected class"):
        observations.Observation(**{**vars(OBSERVATIONS["ar11638-1600"]), "expected_class": "sunspot"})


def test_figure_of_each_observation():
    figures = {k: o.figure for k, o in OBSERVATIONS.items()}
    assert figures == {
        "ar11638-1600": "Figure 4", "ar11638-1700": "section 4.2.1",
        "ar12665-1600": "Figure 8", "ar12665-1700": "section 4.2.1",
        "ar12674-1600": "Figure 9", "ar12674-1700": "section 4.2.1",
        "ar11108-1600": "Figure 5", "ar11108-sot-halpha": "Figure 5",
        "prominence-2012-08-31-304": "Figure 6", "prominence-2013-01-01-ne-304": "Figure 6",
        "prominence-2013-01-01-se-304": "Figure 6",
    }
    panels = [OBSERVATIONS[k].panel for k in OBSERVATIONS if OBSERVATIONS[k].figure == "Figure 6"]
    assert sorted(panels) == ["left", "middle", "right"]
    assert OBSERVATIONS["prominence-2013-01-01-ne-304"].where == "Figure 6 (left)"


@pytest.mark.parametrize("key", list(OBSERVATIONS))
def test_times_parse_and_the_first_simulated_frame_is_in_the_window(key):
    obs = OBSERVATIONS[key]
    start, end = Time(obs.start, scale="utc"), Time(obs.end, scale="utc")
    assert 0.9 * u.h <= end - start <= 1.5 * u.h
    first = dt.datetime.fromisoformat(obs.simulation.first_frame)
    cadence = obs.simulation.cadence or obs.cadence.to_value(u.s)
    assert 0 <= (first - start.datetime).total_seconds() < cadence
    if obs.cadence is not None:
        assert obs.cadence == (12 if obs.wavelength == 304 * u.AA else 24) * u.s  # AIA EUV / UV
        assert obs.frames == round((end - start).to_value(u.s) / obs.cadence.to_value(u.s))


def test_simulator_settings_fit_the_observation():
    for obs in OBSERVATIONS.values():
        sim = obs.simulation
        if obs.instrument == "SOT":
            assert sim.kind == "halpha" and sim.cadence and sim.fov
        else:
            assert sim.kind in AIA_KINDS and sim.kind.startswith(f"{obs.wavelength.to_value(u.AA):.0f}_")
            assert sim.kind.endswith(obs.expected_class[:-1])  # "1600_sunspot" -> sunspots
        assert (sim.spots is not None) == (obs.expected_class == "sunspots") == (sim.spots_stream == obs.target)
    assert len({o.simulation.stream for o in OBSERVATIONS.values()}) == len(OBSERVATIONS), "independent noise"


def test_centres_on_the_disk_for_regions_and_off_the_limb_for_prominences():
    for obs in OBSERVATIONS.values():
        for name, xy in (("centre", obs.center), ("simulator pointing", obs.simulation.pointing)):
            if xy is None:
                continue
            r = math.hypot(*xy)
            assert (r < 0.9 * RSUN_ARCSEC) if obs.on_disk else (r > RSUN_ARCSEC), (obs.key, name, r)
            if not obs.on_disk:
                assert xy[0] < 0, f"{obs.key}: the paper's prominences are on the east limb"


def test_adversarial_tests_and_resolution_pair_cover_the_registry_once():
    tests = adversarial_tests()
    assert tests[:6] == tuple(f"ar{noaa}-{w}" for noaa in (11638, 12665, 12674) for w in (1600, 1700))
    assert [OBSERVATIONS[k].wavelength.to_value(u.AA) for k in tests[6:]] == [304] * 3
    sot, aia = resolution_pair()
    assert (OBSERVATIONS[sot].instrument, OBSERVATIONS[aia].instrument) == ("SOT", "AIA")
    assert OBSERVATIONS[sot].target == OBSERVATIONS[aia].target == "AR11108"
    assert (OBSERVATIONS[sot].start, OBSERVATIONS[sot].end) == (OBSERVATIONS[aia].start, OBSERVATIONS[aia].end)
    assert sorted([*tests, sot, aia]) == sorted(OBSERVATIONS)


def test_only_the_sot_frames_need_a_manual_download():
    assert [k for k, o in OBSERVATIONS.items() if o.manual] == ["ar11108-sot-halpha"]


def test_unknown_key_is_one_sentence_that_lists_the_keys():
    with pytest.raises(SlicError) as info:
        observation("AR11638_1600")  # the simulator's former name
    message = str(info.value)
    assert "\n" not in message and all(k in message for k in OBSERVATIONS)
    with pytest.raises(TypeError):
        OBSERVATIONS["ar11638-1600"] = None  # read only


def test_slic_synth_simulates_exactly_the_registry(tmp_path):
    out = tmp_path / "synth"
    rc = main(["synth", str(out), "--per-class", "1", "--size", "32", "--workers", "1", "--quiet",
               "--aia", "--aia-frames", "1"])
    assert rc == 0
    folders = {p.name: list(p.glob("*.fits")) for p in (out / "aia").iterdir()}
    assert set(folders) == set(OBSERVATIONS)
    assert all(len(files) == 1 for files in folders.values())
