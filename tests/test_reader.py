"""Reading any FITS file: every kind of bad file gets a reason naming its cause; good ones say how they were read."""

import gzip
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

from conftest import pattern, write_fits
from slic_lib.facts import header_facts
from slic_lib.reader import ReadError, describe_bytes, read_image

IMG = pattern(2, np.random.default_rng(0), 32)


def _bad(tmp_path, kind):
    p = tmp_path / f"{kind}.fits"
    if kind == "empty":
        p.write_bytes(b"")
    elif kind == "not-fits":
        p.write_text("<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")
    elif kind == "truncated":
        fits.PrimaryHDU(IMG).writeto(p)
        data = p.read_bytes()
        p.write_bytes(data[: len(data) - 3000])
    elif kind == "header-only":
        fits.PrimaryHDU().writeto(p)
    elif kind == "one-dimensional":
        fits.PrimaryHDU(np.arange(50.0)).writeto(p)
    elif kind == "cube":
        fits.PrimaryHDU(np.stack([IMG, IMG, IMG])).writeto(p)
    elif kind == "all-nan":
        fits.PrimaryHDU(np.full((16, 16), np.nan, np.float32)).writeto(p)
    elif kind == "all-zero":
        fits.PrimaryHDU(np.zeros((16, 16), np.int16)).writeto(p)
    elif kind == "out-of-range":  # finite float64, but beyond float32: read as float32 it was all infinite
        fits.PrimaryHDU(np.linspace(1e39, 2e39, 256).reshape(16, 16)).writeto(p)
    return p


@pytest.mark.parametrize("kind, words", [
    ("empty", "empty file"),
    ("not-fits", "looks like an HTML page"),
    ("truncated", "truncated"),
    ("header-only", "header-only"),
    ("one-dimensional", "one-dimensional"),
    ("cube", "cube of shape (3, 32, 32)"),
    ("all-nan", "NaN"),
    ("all-zero", "every pixel is zero"),
    ("out-of-range", "256 pixels (up to 2e+39) are beyond the float32 range"),
])
def test_bad_files_name_their_cause(tmp_path, kind, words):
    with pytest.raises(ReadError) as exc:
        read_image(_bad(tmp_path, kind))
    assert exc.value.kind == kind
    assert words in str(exc.value)


def test_missing_and_cut_gzip(tmp_path):
    with pytest.raises(ReadError, match="does not exist"):
        read_image(tmp_path / "nope.fits")
    p = tmp_path / "a.fits.gz"
    fits.PrimaryHDU(np.random.default_rng(1).normal(size=(64, 64))).writeto(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError) as exc:
        read_image(p)
    assert exc.value.kind == "truncated"


def test_what_other_files_look_like():
    assert "PNG" in describe_bytes(b"\x89PNG\r\n\x1a\n....")
    assert "JSON" in describe_bytes(b'{"error": "not found"}')
    assert "text" in describe_bytes(b"Service unavailable, try later")


@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_plain_images_without_wcs_are_read_by_astropy(tmp_path, dtype):
    p = tmp_path / "plain.fits"
    fits.PrimaryHDU(IMG.astype(dtype)).writeto(p)
    img = read_image(p)
    assert img.reader == "astropy" and img.hdu == 0 and img.hdu_name == "PRIMARY"
    np.testing.assert_allclose(img.data, IMG.astype(dtype), rtol=1e-6)


def test_compressed_and_multi_extension_files(tmp_path):
    gz = tmp_path / "g.fits.gz"
    fits.PrimaryHDU(IMG).writeto(gz)
    assert gzip.open(gz).read(6) == b"SIMPLE"
    np.testing.assert_allclose(read_image(gz).data, IMG)
    rice = tmp_path / "rice.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(IMG.astype(np.int16), compression_type="RICE_1")]).writeto(rice)
    img = read_image(rice)
    assert (img.hdu, img.hdu_name) == (1, "COMPRESSED_IMAGE")
    np.testing.assert_array_equal(img.data, IMG.astype(np.int16))
    multi = tmp_path / "multi.fits"
    table = fits.BinTableHDU.from_columns([fits.Column("a", "E", array=np.ones(3))])
    fits.HDUList([fits.PrimaryHDU(), table, fits.ImageHDU(IMG, name="SCI")]).writeto(multi)
    img = read_image(multi)
    assert (img.hdu, img.hdu_name) == (2, "SCI")


def test_a_wcs_header_is_read_through_sunpy_with_its_facts(tmp_path):
    p = tmp_path / "wcs.fits"
    write_fits(p, IMG, "2012-03-04T10:00:00", xcen=120.0)
    img = read_image(p)
    assert img.reader == "sunpy"
    assert img.facts["date_obs"].startswith("2012-03-04T10:00:00")
    assert img.facts["wavelength"] == pytest.approx(6563.0)
    assert img.facts["xcen"] == pytest.approx(120.0, abs=0.2)
    assert img.facts["cdelt1"] == pytest.approx(0.1)
    assert read_image(p, use_sunpy=False).reader == "astropy"


def test_header_facts_from_keywords_and_linear_wcs():
    h = fits.Header({"NAXIS": 2, "NAXIS1": 101, "NAXIS2": 51, "TELESCOP": "SDO", "INSTRUME": "AIA_3", "WAVELNTH": 171,
                     "WAVEUNIT": "angstrom", "DATE-OBS": "2013-01-01T00:00:11", "EXPTIME": 2.0, "CRPIX1": 1.0,
                     "CRVAL1": 10.0, "CDELT1": 0.6, "CUNIT1": "arcsec", "CRPIX2": 26.0, "CRVAL2": -5.0,
                     "CDELT2": 0.6, "CUNIT2": "arcsec"})
    f = header_facts(h, (51, 101))
    assert f["instrument"] == "SDO/AIA_3" and f["wavelength"] == 171 and f["wavelength_unit"] == "angstrom"
    assert f["date_obs"] == "2013-01-01T00:00:11.000" and f["exptime"] == 2.0
    assert f["xcen"] == pytest.approx(10.0 + 0.6 * 50) and f["ycen"] == pytest.approx(-5.0)


def test_header_facts_normalise_units_dates_and_rotation():
    """Pixel scale and centre in arcsec whatever CUNIT says; ISO dates from the observation keywords only."""
    base = {"NAXIS": 2, "NAXIS1": 64, "NAXIS2": 64, "CTYPE1": "HPLN-TAN", "CTYPE2": "HPLT-TAN", "CUNIT1": "deg",
            "CUNIT2": "deg", "CRPIX1": 32.5, "CRPIX2": 32.5, "CRVAL1": -0.01, "CRVAL2": 0.02, "CDELT1": 1e-4, "CDELT2": 1e-4}
    f = header_facts(fits.Header(base | {"DATE": "2030-01-01T00:00:00"}), (64, 64))
    assert f["cdelt1"] == pytest.approx(0.36) and f["cdelt2"] == pytest.approx(0.36)
    assert f["xcen"] == pytest.approx(-36.0, abs=1e-3) and f["ycen"] == pytest.approx(72.0, abs=1e-3)
    assert f["date_obs"] is None  # DATE is when the file was written, not observed
    gong = header_facts(fits.Header({"DATE-OBS": "2025/01/09", "TIME-OBS": "12:30:05"}), (8, 8))
    assert gong["date_obs"] == "2025-01-09T12:30:05.000"
    # the FITS standard's first form, DD/MM/YY (1900-1999), as astropy's own test files carry it
    old = header_facts(fits.Header({"DATE-OBS": "19/05/94", "TIME-OBS": "15:41:16"}), (8, 8))
    assert old["date_obs"] == "1994-05-19T15:41:16.000"
    assert header_facts(fits.Header({"DATE-OBS": "yesterday"}), (8, 8))["date_obs"] == "yesterday"  # kept as written
    assert header_facts(fits.Header({"T_OBS": "2018.11.09_12:30:52_TAI"}), (8, 8))["date_obs"].startswith("2018-11-09T12:30:52")
    assert header_facts(fits.Header({"DATE-OBS": "2015-08-01 17:48:14"}), (8, 8))["date_obs"] == "2015-08-01T17:48:14.000"
    # a field turned by 90 degrees: the centre is where the rotated axes put it (astropy.wcs)
    turned = base | {"CUNIT1": "arcsec", "CUNIT2": "arcsec", "CRVAL1": 0.0, "CRVAL2": 0.0, "CDELT1": 0.5, "CDELT2": 0.5,
                     "CRPIX1": 1.0, "CRPIX2": 1.0, "PC1_1": 0.0, "PC1_2": -1.0, "PC2_1": 1.0, "PC2_2": 0.0}
    t = header_facts(fits.Header(turned), (64, 64))
    assert t["xcen"] == pytest.approx(-0.5 * 31.5, abs=0.01) and t["ycen"] == pytest.approx(0.5 * 31.5, abs=0.01)


def test_keywords_of_the_primary_header_are_inherited_by_an_image_extension(tmp_path):
    primary = fits.PrimaryHDU()
    primary.header.update({"TELESCOP": "BBSO", "INSTRUME": "HALPH", "WAVELNTH": 6563.0, "WAVEUNIT": "angstrom",
                           "DATE-OBS": "2015-08-01T17:48:14", "EXPTIME": 0.02})
    for name, hdu in [("ext", fits.ImageHDU(IMG, name="SCI")), ("rice", fits.CompImageHDU(IMG.astype(np.int16)))]:
        path = tmp_path / f"{name}.fits"
        fits.HDUList([primary, hdu]).writeto(path)
        f = read_image(path).facts
        assert (f["instrument"], f["wavelength"], f["exptime"]) == ("BBSO/HALPH", 6563.0, 0.02), name
        assert f["date_obs"] == "2015-08-01T17:48:14.000"
    primary.header["INHERIT"] = False
    fits.HDUList([primary, fits.ImageHDU(IMG)]).writeto(tmp_path / "own.fits")
    assert read_image(tmp_path / "own.fits").facts["instrument"] is None  # the file says: do not inherit


def test_a_gzip_file_with_damaged_bytes_is_an_error_not_garbage_pixels(tmp_path):
    p = tmp_path / "d.fits.gz"
    fits.PrimaryHDU(np.random.default_rng(2).normal(size=(128, 128)).astype(np.float32)).writeto(p)
    data = bytearray(p.read_bytes())
    data[-8] ^= 0xFF  # the CRC-32 no longer matches: bytes changed on the way (astropy alone never reads the trailer)
    p.write_bytes(bytes(data))
    with pytest.raises(ReadError, match="damaged gzip") as exc:
        read_image(p)
    assert exc.value.kind == "damaged"


def test_tables_and_tiny_images_name_their_cause(tmp_path):
    table = tmp_path / "table.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column("flux", "E", array=np.ones(4))], name="RATE")]).writeto(table)
    with pytest.raises(ReadError, match=r"hold tables \(HDU 1 \(RATE\)\)") as exc:
        read_image(table)
    assert exc.value.kind == "table-only"
    tiny = tmp_path / "tiny.fits"
    fits.PrimaryHDU(np.arange(4.0).reshape(2, 2)).writeto(tiny)
    with pytest.raises(ReadError, match="too small") as exc:
        read_image(tiny)
    assert exc.value.kind == "degenerate"


def test_corrupt_compressed_tiles_are_a_read_error(tmp_path):
    p = tmp_path / "rice.fits"
    img = (1000 + 100 * np.random.default_rng(0).standard_normal((256, 256))).astype(np.int16)
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(img, compression_type="RICE_1")]).writeto(p)
    data = bytearray(p.read_bytes())
    data[2880 * 3 + 2000:2880 * 3 + 22000] = np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8).tobytes()
    p.write_bytes(bytes(data))
    with pytest.raises(ReadError) as exc:
        read_image(p)
    assert exc.value.kind in ("damaged", "truncated")


def test_iso_dates_are_read_without_sunpy_time():
    """The standard's ISO 8601 DATE-OBS is parsed by astropy alone: sunpy.time imports pandas, 0.3 s of every run."""
    code = ("import sys; from astropy.io import fits; from slic_lib.facts import header_facts; "
            "f = header_facts(fits.Header({'DATE-OBS': '2011-06-07T06:33:02.77'}), (8, 8)); "
            "assert f['date_obs'] == '2011-06-07T06:33:02.770', f; "
            "assert 'sunpy.time' not in sys.modules and 'pandas' not in sys.modules, 'sunpy.time imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_pixel_scale_is_a_size_whichever_reader(tmp_path):
    # CDELT1 < 0 (the axis runs east to west): sunpy's Map kept the sign, astropy.wcs's pixel scales do not
    p = tmp_path / "flipped.fits"
    header = fits.Header({"CTYPE1": "HPLN-TAN", "CTYPE2": "HPLT-TAN", "CUNIT1": "arcsec", "CUNIT2": "arcsec", "CDELT1": -0.5,
                          "CDELT2": 0.5, "CRPIX1": 16.5, "CRPIX2": 16.5, "CRVAL1": 100.0, "CRVAL2": -50.0,
                          "DATE-OBS": "2014-01-01T00:00:00", "WAVELNTH": 6563.0, "WAVEUNIT": "angstrom"})
    fits.PrimaryHDU(IMG.astype(np.float32), header).writeto(p)
    via_sunpy, via_astropy = read_image(p), read_image(p, use_sunpy=False)
    assert via_sunpy.reader == "sunpy" and via_astropy.reader == "astropy"
    assert via_sunpy.facts["cdelt1"] == pytest.approx(0.5) == via_astropy.facts["cdelt1"]
    assert via_sunpy.facts["xcen"] == pytest.approx(via_astropy.facts["xcen"], abs=0.01)
