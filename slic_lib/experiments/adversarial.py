"""Notebook 05: the H-alpha network on AIA 1600/1700 sunspots and 304 prominences (Figs 4, 6, 8, 9).

Also the simulated AIA scenes beside the real AIA images that ship with sunpy and sunkit-image
(:func:`realism`): only 171 A ships, so the comparison is of what does not depend on the
channel's line -- the off-limb fall-off of optically thin coronal emission (the same
hydrostatic law as the simulated 304 corona, :func:`slic_lib.synthetic.aia.coronal_scale_height`),
and the disc's intensity distribution normalised to its median.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

import sunpy.map

from .. import observations, results, summary
from ..plots.aia import plot_realism
from ..inference import predict_proba
from ..model import load_checkpoint
from ..plots.adversarial import plot_sequence
from ..preprocess import preprocess_array
from ..realdata import samples
from ..synthetic import features as ft
from ..synthetic.aia import coronal_scale_height, render_aia
from .observations import observation_maps
from .run import Run


def _sequence_summary(obs, class_names, probs: np.ndarray) -> dict:
    predicted = [class_names[i] for i in probs.argmax(1)]
    right = float(np.mean([p == obs.expected_class for p in predicted])) if len(probs) else None
    return {
        "figure": obs.figure,
        "expected": obs.expected_class,
        "n_frames": len(probs),
        "fraction_classified_as_expected": right,
        "predicted_counts": dict(Counter(predicted)),
        "paper": obs.paper_result,  # every one of these sequences was misclassified, at least in part, in the paper
        "fails_here": None if right is None else right < 0.5,  # most frames not the expected class
        "mean_probabilities": dict(zip(class_names, probs.mean(0))) if len(probs) else {},
    }


def sentence(sequences: dict[str, dict]) -> str:
    """Where this run's network fails on the paper's sequences (most frames not the expected class),
    each beside the paper's own outcome, in words: which wrong class, and whether "sometimes right"
    matches, is for the reader to compare."""
    failed = [k for k, s in sequences.items() if s.get("fails_here")]
    right = [k for k, s in sequences.items() if s.get("fails_here") is False]

    def one(key: str) -> str:
        s = sequences[key]
        counts = ", ".join(f"{c} {n}" for c, n in sorted(s["predicted_counts"].items(), key=lambda kv: -kv[1]))
        return f"{key} ({counts} of {s['n_frames']} frame{'s' if s['n_frames'] != 1 else ''}; the paper: {s.get('paper', '?')})"

    n = len(sequences)
    words = [f"The paper's network was wrong on {'the one sequence' if n == 1 else f'all {n} sequences'}, at least in part; "
             f"this run's network is wrong on most frames of {len(failed)}."]
    if failed:
        words.append("Mostly wrong here: " + "; ".join(map(one, failed)) + ".")
    if right:
        words.append("Mostly right here: " + "; ".join(map(one, right)) + ".")
    return " ".join(words)


def adversarial(run: Run, keys: list[str] | None = None, progress: bool = True) -> dict[str, dict]:
    """Classify each of the paper's AIA test sequences frame by frame; store probabilities and frames."""
    model = load_checkpoint(run.require_model())
    names = list(model.class_names)
    sequences = {}
    for key in keys or observations.adversarial_tests():
        obs = observations.observation(key)
        maps = observation_maps(run, key, run.profile.aia_frames, progress=progress)
        shown = np.array(sorted({0, len(maps) // 2, len(maps) - 1}), dtype=np.int64)  # the frames the figure shows
        frames = {f"frame_{i}": np.asarray(maps[i].data, np.float32) for i in shown}  # Fido cut-outs may differ in shape
        probs = predict_proba(model, np.stack([preprocess_array(np.asarray(m.data, float), model.preprocessing) for m in maps]))
        times = np.array([m.date.isot for m in maps])
        results.write_arrays(run.name, f"adversarial_{key}", probs=probs, times=times, shown=shown, **frames)
        sequences[key] = _sequence_summary(obs, names, probs)
    result = {"source": run.aia_source, "synthetic": run.synthetic_aia, "class_names": names, "sequences": sequences}
    results.write_json(run.name, "adversarial", result)
    summary.update(run.name, adversarial=result)
    return sequences


PAPER_CHANNELS = (304.0, 1600.0, 1700.0)
"""The AIA channels of the paper's adversarial tests."""
_HEIGHT_BINS = np.arange(-300.0, 700.0, 10.0)  # arcsec above the limb
_FIT = (20.0, 150.0)  # heights (arcsec) of the off-limb fits: above the spicules, below the noise floor


def radial_profile(image: np.ndarray, height: np.ndarray, disc_median: float) -> np.ndarray:
    """Median intensity / ``disc_median`` in each 10" height bin of :data:`_HEIGHT_BINS` (NaN where empty)."""
    out = np.full(len(_HEIGHT_BINS) - 1, np.nan)
    idx = np.digitize(height.ravel(), _HEIGHT_BINS) - 1
    flat = image.ravel() / disc_median
    for k in np.unique(idx[(idx >= 0) & (idx < len(out))]):
        sel = flat[idx == k]
        if sel.size >= 50:
            out[k] = np.median(sel)
    return out


def fit_scale_height(profile: np.ndarray, lo: float = _FIT[0], hi: float = _FIT[1]) -> float | None:
    """e-folding height (arcsec) of a :func:`radial_profile` between ``lo`` and ``hi`` (None if it cannot be fitted)."""
    h = 0.5 * (_HEIGHT_BINS[1:] + _HEIGHT_BINS[:-1])
    ok = (h >= lo) & (h <= hi) & np.isfinite(profile) & (profile > 0)
    if ok.sum() < 3:
        return None
    slope = np.polyfit(h[ok], np.log(profile[ok]), 1)[0]
    return float(-1.0 / slope) if slope < 0 else None


def _map_height(smap) -> np.ndarray:
    c = sunpy.map.all_coordinates_from_map(smap)
    return np.hypot(c.Tx.to_value("arcsec"), c.Ty.to_value("arcsec")) - smap.rsun_obs.to_value("arcsec")


def _histogram(image: np.ndarray, disc: np.ndarray) -> np.ndarray:
    values = image[disc] / np.median(image[disc])
    return np.histogram(np.clip(values, 0, 4.99), bins=np.linspace(0, 5, 51), density=True)[0]


def realism(run: Run, seed: int = 0) -> dict:
    """The simulated AIA scenes beside the real AIA images shipped by sunpy/sunkit-image; writes ``aia_realism``.

    Measures on each: the radial profile (median per 10" height bin, normalised to the disc
    median), its off-limb e-folding height over 20-150" and, for the real 171 A image, the
    temperature a hydrostatic corona with that intensity scale height would have; and the
    histogram of the disc normalised to its median. Channels the paper uses that no shipped
    image covers are listed in ``not_compared``.
    """
    shipped = samples.aia_wavelengths()
    arrays, stats = {}, {"real": {}, "simulated": {}}
    for name, wave in shipped.items():
        smap = samples.load(name)
        img = np.asarray(smap.data, float)
        height = _map_height(smap)
        disc = height < -50
        med = float(np.median(img[disc]))
        arrays[f"real_{name}_image"] = img.astype(np.float32)
        arrays[f"real_{name}_hist"] = _histogram(img, disc)
        entry = {"wavelength": wave, "scale_arcsec": float(smap.scale.axis1.value), "disc_median": med}
        if (height > _FIT[1]).any():  # the limb is in the field
            prof = radial_profile(img, height, med)
            arrays[f"real_{name}_profile"] = prof
            h_i = fit_scale_height(prof)
            km = 695_700.0 / smap.rsun_obs.to_value("arcsec")
            entry.update(intensity_scale_height_arcsec=h_i,
                         hydrostatic_temperature_mk=None if h_i is None else 2 * h_i * km / 47_000.0)
        stats["real"][name] = entry
    for kind in ("304_prominence", "1600_sunspot"):
        rng = np.random.default_rng([run.profile.seed, seed])
        sim = render_aia(kind, rng, 512)
        height, _ = ft.limb_geometry(512, sim.cdelt, sim.xcen, sim.ycen, sim.rsun, angle=False)
        disc = height < -20
        med = float(np.median(sim.data[disc]))
        arrays[f"sim_{kind}_image"] = sim.data
        arrays[f"sim_{kind}_hist"] = _histogram(sim.data, disc)
        entry = {"wavelength": sim.wavelength, "scale_arcsec": sim.cdelt, "disc_median": med}
        if kind == "304_prominence":
            prof = radial_profile(sim.data, height, med)
            arrays[f"sim_{kind}_profile"] = prof
            entry["intensity_scale_height_arcsec"] = fit_scale_height(prof)
            entry["stated_range_arcsec"] = [coronal_scale_height(t, sim.rsun) for t in (1.0, 1.5)]
        stats["simulated"][kind] = entry
    arrays["height_bins"] = _HEIGHT_BINS
    result = {"shipped_aia": shipped, "not_compared": [w for w in PAPER_CHANNELS if w not in shipped.values()], **stats}
    results.write_arrays(run.name, "aia_realism", **arrays)
    results.write_json(run.name, "aia_realism", result)
    summary.update(run.name, aia_realism=result)
    return result


def realism_figure(run: Run):
    """Draw the simulated-against-real AIA figure from ``aia_realism``'s result files."""
    fig = plot_realism(results.read_arrays(run.name, "aia_realism"), results.read_json(run.name, "aia_realism"))
    run.save(fig, "fig_aia_realism")
    return fig


def table(run: Run) -> pd.DataFrame:
    """One row per sequence: figure, expected class, frames, share classified as expected, counts."""
    res = results.read_json(run.name, "adversarial")
    return pd.DataFrame([{"sequence": k, **{c: v for c, v in s.items() if c != "mean_probabilities"}} for k, s in res["sequences"].items()])


def figures(run: Run) -> list:
    """Draw notebook 05's figures and table from its result files."""
    res = results.read_json(run.name, "adversarial")
    run.table(table(run), "table_adversarial", "The H-alpha network on AIA sunspots (1600/1700) and prominences (304)")
    figs = []
    for key, s in res["sequences"].items():
        arr = results.read_arrays(run.name, f"adversarial_{key}")
        times = pd.to_datetime(arr["times"]).to_pydatetime()
        fig = plot_sequence(list(times), arr["probs"], res["class_names"], s["expected"], images={i: arr[f"frame_{i}"] for i in arr["shown"].tolist()},
                            synthetic=res["synthetic"], title=f"{s['figure']}: {key}")
        run.save(fig, f"fig_aia_{key}")
        figs.append(fig)
    return figs
