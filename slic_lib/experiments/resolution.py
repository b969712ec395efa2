"""Notebook 04: is resolution why the network fails on AIA? Figure 5 and the degradation curve.

Every image goes the way any input goes, degraded at the Map stage:
FITS -> sunpy Map -> :func:`slic_lib.degrade.degrade_map` -> preprocessing -> model. The
curve uses a held-out set of simulated SOT observing runs, made for this test with its own
seed (never seen in training or validation); nothing is read back from the dataset file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import astropy.units as u
import numpy as np

from .. import observations, results, summary, synthetic
from ..classes import class_index
from ..degrade import degradation_curve, degrade_map, equivalent_factor
from ..inference import predict_proba
from ..model import load_checkpoint
from ..plots.resolution import plot_degradation_curve, plot_resolution_triplet
from ..preprocess import load_map, preprocess_array
from .observations import observation_maps
from .run import Run, complete, mark_complete

TRIPLET = ("sot_full", "sot_degraded", "aia_1600")
TRIPLET_TITLES = ("SOT H-alpha, full resolution", "SOT H-alpha degraded to AIA: 1.2\" resolution, 0.6\"/px", "AIA 1600 \u00c5")
#: Seed offset of the held-out set, so it never repeats a training run.
HELD_OUT_SEED = 1_000_003


def held_out_files(run: Run, progress: bool = True) -> list[Path]:
    """Simulated SOT observing runs for the curve: one frame per run, a seed of their own."""
    p = run.profile
    per_class = max(6, p.per_class // 10)
    out = run.data_dir / "resolution_test"
    params = {"per_class": per_class, "seed": p.seed + HELD_OUT_SEED, "size": p.image_size}
    marker = out / ".complete.json"
    if not complete(marker, params):
        if out.exists():
            shutil.rmtree(out)
        synthetic.generate(out, per_class, seed=params["seed"], size=p.image_size, frames_per_sequence=1, progress=progress)
        mark_complete(marker, params)
    return sorted(out.glob("*/*.fits"))


def resolution_test(run: Run, progress: bool = True) -> dict:
    """Figure 5's triplet (AR11108) and, on simulated data, accuracy against the degradation factor."""
    model = load_checkpoint(run.require_model())
    # one frame each of the co-temporal SOT and AIA 1600 observations, at SOT's native sampling
    sot_key, aia_key = observations.resolution_pair()
    sot = observation_maps(run, sot_key, n_frames=1, size=512, progress=progress)[0]
    aia = observation_maps(run, aia_key, n_frames=1, size=512, progress=progress)[0]
    maps = (sot, degrade_map(sot), aia)
    probs = predict_proba(model, np.stack([preprocess_array(np.asarray(m.data, float), model.preprocessing) for m in maps]))
    names = model.class_names
    triplet = {
        key: {"predicted": names[int(p.argmax())], "probabilities": dict(zip(names, p)),
              "scale_arcsec": float(m.scale[0].to_value(u.arcsec / u.pix))}
        for key, p, m in zip(TRIPLET, probs, maps)
    }
    results.write_arrays(run.name, "resolution_triplet", probs=probs, **{k: np.asarray(m.data, np.float32) for k, m in zip(TRIPLET, maps)})
    curve = None
    if run.synthetic:
        files = held_out_files(run, progress)
        smaps = [load_map(f) for f in files]
        labels = [class_index(f.parent.name) for f in files]
        curve = degradation_curve(model, smaps, labels, run.profile.degradation_factors, progress=progress, workers=run.profile.workers)
        # the same blur without the resampling to coarser pixels: the preprocessing's one resize
        # then does all the resampling, which separates resolution from resampling artefacts
        psf_only = degradation_curve(model, smaps, labels, run.profile.degradation_factors, progress=progress, resample=False,
                                      workers=run.profile.workers)
        results.write_table(run.name, "resolution_curve", curve)
        results.write_table(run.name, "resolution_curve_psf_only", psf_only)
    result = {
        "source": run.aia_source,
        "synthetic": run.synthetic_aia,
        "class_names": list(names),
        "sot_to_aia_factor": equivalent_factor(),
        "triplet": triplet,
        "curve": None if curve is None else curve[["factor", "accuracy"]].to_dict("records"),
        "curve_psf_only": None if curve is None else psf_only[["factor", "accuracy"]].to_dict("records"),
        "curve_images": None if curve is None else int(curve["n"].iloc[0]),
    }
    results.write_json(run.name, "resolution_test", result)
    summary.update(run.name, resolution_test=result)
    return result


def curve_table(result: dict):
    """The two degradation curves side by side (None without a curve): factor, accuracy with the
    PSF and resampling to coarser pixels, and with the PSF alone."""
    import pandas as pd

    if result["curve"] is None:
        return None
    return pd.DataFrame({"factor": [r["factor"] for r in result["curve"]],
                         "accuracy (PSF + resampling)": [r["accuracy"] for r in result["curve"]],
                         "accuracy (PSF only)": [r["accuracy"] for r in result["curve_psf_only"]]})


def sentence(result: dict) -> str:
    """Notebook 04's result in words, every number taken from ``result`` (:func:`resolution_test`)."""
    t = result["triplet"]
    words = [f"AR11108: SOT H-alpha at {t['sot_full']['scale_arcsec']:.2f}\"/px is classified as {t['sot_full']['predicted']}, "
             f"degraded to AIA's resolution ({t['sot_degraded']['scale_arcsec']:.2f}\"/px) as {t['sot_degraded']['predicted']}, "
             f"and AIA 1600 \u00c5 as {t['aia_1600']['predicted']}."]
    table = curve_table(result)
    if table is not None:
        both, psf, factors = table.iloc[:, 1], table.iloc[:, 2], table["factor"]
        gap = (psf - both).to_numpy()
        worst = int(np.argmax(gap))
        aia = result["sot_to_aia_factor"]
        near = int(np.argmin(np.abs(factors.to_numpy() - aia)))
        lowest = int(np.argmin(both.to_numpy()))
        at_aia = (f"at AIA's factor {aia:.1f}" if abs(factors[near] - aia) < 0.05
                  else f"at factor {factors[near]:g}, nearest AIA's {aia:.1f},")
        runs = f"Over {result['curve_images']} held-out simulated runs"
        if both.max() == both.min():
            words.append(f"{runs}, accuracy is {both.iloc[0]:.3f} at every factor from {factors.iloc[0]:g} to {factors.iloc[-1]:g}.")
        else:
            dip = ("" if lowest in (0, len(both) - 1)
                   else f", {both.iloc[lowest]:.3f} at its lowest (factor {factors[lowest]:g}),")
            words.append(f"{runs}, accuracy goes from {both.iloc[0]:.3f} undegraded{dip} to {both.iloc[-1]:.3f} at factor "
                         f"{factors.iloc[-1]:g}; {at_aia} it is {both[near]:.3f}.")
        words.append(f"Resampling twice costs at most {gap[worst]:.3f} (factor {table['factor'][worst]:g}) against the PSF alone."
                     if gap[worst] > 0 else "The PSF alone scores no higher than PSF and resampling at any factor.")
    return " ".join(words)


def figures(run: Run) -> list:
    """Draw notebook 04's figures and tables from its result files."""
    res = results.read_json(run.name, "resolution_test")
    arr = results.read_arrays(run.name, "resolution_triplet")
    # each column's field of view: the AIA frame covers more of the Sun than SOT's, so its spot is smaller
    titles = [f"{t}\n{arr[k].shape[1] * res['triplet'][k]['scale_arcsec']:.0f}\" field of view" for k, t in zip(TRIPLET, TRIPLET_TITLES)]
    figs = [plot_resolution_triplet(*(arr[k] for k in TRIPLET), arr["probs"], res["class_names"], titles=titles,
                                    synthetic=res["synthetic"], title="Figure 5: AR11108, 2010-09-25")]
    run.save(figs[0], "fig5_resolution_triplet")
    if res["curve"] is not None:
        curve = results.read_table(run.name, "resolution_curve")
        run.table(curve, "resolution_degradation", "Accuracy on held-out simulated SOT runs against resolution degradation (PSF + resampling)")
        psf_only = results.read_table(run.name, "resolution_curve_psf_only")
        figs.append(plot_degradation_curve(curve, synthetic=run.synthetic, sot_to_aia=res["sot_to_aia_factor"], psf_only=psf_only))
        run.save(figs[-1], "fig_resolution_curve")
    return figs
