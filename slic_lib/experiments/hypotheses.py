"""Notebook 07 (beyond the paper): a causal test of the paper's two explanations of its AIA failures.

Armstrong & Fletcher (2019, Sect. 4.2) attribute the misclassified AIA 1600 sunspots to the
bright plage around them and the misclassified AIA 304 prominences to the diffuse coronal
emission above the limb. In simulated scenes that are otherwise identical (same seed: same
spots, network, prominence, noise), :func:`sweep` varies one physical knob of
:func:`slic_lib.synthetic.aia.aia_scene` from 0 (removed) to 2 (twice the realistic value):

========  ================  ============  =============================================
sweep     scene kind        true class    knob
========  ================  ============  =============================================
plage     ``1600_sunspot``  sunspots      plage brightening around the spot
corona    ``304_prominence`` prominences  off-limb coronal emission behind the prominence
========  ================  ============  =============================================

and records the run's model's class probabilities for every (value, seed). An explanation
holds when the realistic scene (knob 1) is misclassified in most seeds and removing the
feature (knob 0) restores the true class in most seeds (in part when removing it only raises
the share of seeds classified correctly); :func:`verdict` says so in a sentence
built from the numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import results, summary
from ..errors import SlicError
from ..inference import predict_proba
from ..model import load_checkpoint
from ..plots.hypotheses import plot_sweep
from ..preprocess import preprocess_array
from ..synthetic.aia import render_aia
from .run import Run

SWEEPS = {
    "plage": {"kind": "1600_sunspot", "true": "sunspots", "what": "plage brightening around an AIA 1600 sunspot"},
    "corona": {"kind": "304_prominence", "true": "prominences", "what": "off-limb coronal emission behind an AIA 304 prominence"},
}
"""Sweep name (the knob of :func:`slic_lib.synthetic.aia.aia_scene`) -> scene kind, true class, description."""
SHOWN = (0.0, 1.0, 2.0)
"""Knob values whose first-seed images the figure shows."""


def sizes(run: Run) -> tuple[int, int, int]:
    """(knob values, seeds, image side) of a run: 5 x 2 at 128 px for smoke, 9 x 5 at the AIA transfer size otherwise."""
    side = run.profile.transfer.aia_size
    return (5, 2, side) if run.name == "smoke" else (9, 5, side)


def sweep(model, name: str, values, seeds, size: int, root_seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Classify the scenes of one sweep: one row per (value, seed).

    Parameters
    ----------
    model : SlicNet
        The trained network (its preprocessing is applied).
    name : str
        ``"plage"`` or ``"corona"`` (see :data:`SWEEPS`).
    values : sequence of float
        Knob values (1 = realistic).
    seeds : sequence of int
        Scene seeds; each seed's scenes differ only in the knob.
    size : int
        Image side in pixels.
    root_seed : int
        Mixed into every scene's seed (the run's seed).

    Returns
    -------
    pandas.DataFrame, dict
        Rows ``value, seed, p_<class>..., predicted, p_true``; and the raw images (float32) of the
        first seed at the :data:`SHOWN` values, keyed ``"value_<v>"``.

    Raises
    ------
    SlicError
        For an unknown sweep name, or no values or seeds.
    """
    if name not in SWEEPS:
        raise SlicError(f"unknown hypothesis sweep {name!r}; choose one of {', '.join(SWEEPS)}.")
    values, seeds = [float(v) for v in values], [int(s) for s in seeds]
    if not values or not seeds:
        raise SlicError("a hypothesis sweep needs at least one knob value and one seed.")
    spec = SWEEPS[name]
    names = list(model.class_names)
    rows, batch, shown = [], [], {}
    for seed in seeds:
        for v in values:
            sim = render_aia(spec["kind"], np.random.default_rng([root_seed, seed]), size, **{name: v})
            batch.append(preprocess_array(np.asarray(sim.data, float), model.preprocessing))
            rows.append({"value": v, "seed": seed})
            if seed == seeds[0] and any(np.isclose(v, s) for s in SHOWN):
                shown[f"value_{v:g}"] = sim.data.astype(np.float32)
    probs = predict_proba(model, np.stack(batch))
    frame = pd.DataFrame(rows)
    for k, c in enumerate(names):
        frame[f"p_{c}"] = probs[:, k]
    frame["predicted"] = [names[i] for i in probs.argmax(1)]
    frame["p_true"] = frame[f"p_{spec['true']}"]
    return frame, shown


def flips(frame: pd.DataFrame, true_class: str) -> dict:
    """Per seed, the first knob value (increasing) where the true class, on top at the value before, stops being on top.

    Returns ``{"per_seed": {seed: value or None}, "median": value or None, "never_on_top": [seed, ...]}``:
    ``None`` where the classification never flips away from the true class (it stays on top
    over the whole sweep, or is never on top: those seeds are also listed in
    ``never_on_top``); the median is over the seeds that flip.
    """
    per_seed, never = {}, []
    for seed, g in frame.sort_values("value").groupby("seed"):
        right, values = (g["predicted"] == true_class).to_numpy(), g["value"].to_numpy()
        per_seed[int(seed)] = next((float(values[i]) for i in range(1, len(values)) if right[i - 1] and not right[i]), None)
        if not right.any():
            never.append(int(seed))
    flipped = [v for v in per_seed.values() if v is not None]
    return {"per_seed": per_seed, "median": float(np.median(flipped)) if flipped else None, "never_on_top": never}


def _share_correct(frame: pd.DataFrame, value: float, true_class: str) -> float:
    at = frame[np.isclose(frame["value"], value)]
    return float(np.mean(at["predicted"] == true_class)) if len(at) else float("nan")


def _modal(frame: pd.DataFrame, value: float) -> str | None:
    at = frame.loc[np.isclose(frame["value"], value), "predicted"]
    return str(at.value_counts().index[0]) if len(at) else None


def verdict(name: str, stats: dict) -> str:
    """One sentence: does removing the feature restore the true class? Built from ``stats`` only."""
    spec = SWEEPS[name]
    at0, at1 = stats["correct_at_0"], stats["correct_at_1"]
    head = (f"{spec['what']}: the true class ({spec['true']}) is on top in {at1:.0%} of seeds at the realistic value "
            f"and in {at0:.0%} with it removed (mean p_true {stats['p_true_at_1']:.2f} -> {stats['p_true_at_0']:.2f}; "
            f"most frequent answer {stats['modal_at_1']} -> {stats['modal_at_0']})")
    if at1 > 0.5:
        return head + "; the realistic simulated scene is mostly classified correctly, so it does not reproduce the paper's failure and cannot test its explanation."
    if at1 == 0.5:  # a tie is neither "mostly right" nor "mostly wrong"
        removal = ("removing it restores the right class in most seeds" if at0 > 0.5
                   else "removing it does not restore the right class in most seeds")
        return head + f"; half the seeds classify the realistic scene correctly, so it reproduces the paper's failure only in part; {removal}."
    if at0 > 0.5:
        return head + "; removing it restores the right class: the paper's explanation holds here."
    if at0 > at1:
        return head + ("; removing it helps but does not restore the right class in most seeds: the paper's "
                       "explanation holds only in part here.")
    return head + "; removing it does not restore the right class: the paper's explanation does not hold here."


def flip_sentence(sweep: dict) -> str:
    """Where the classification flips away from the true class, in words (``sweep``: one entry of
    :func:`hypotheses`' ``sweeps``); knob values are multiples of the realistic value."""
    f, true = sweep["flips"], sweep["true"]
    n, flipped = len(f["per_seed"]), sorted(v for v in f["per_seed"].values() if v is not None)
    never = len(f["never_on_top"])
    if never == n:
        return f"{true} is never on top, at any knob value, in {_seeds(n, every=True)}."
    if not flipped:
        text = f"{true} never stops being on top as the knob rises from 0 to 2x the realistic value"
        text += f" in the {_seeds(n - never)} where it is on top at all" if never else f" ({_seeds(n, every=True)})"
    else:
        text = (f"{true} stops being on top in {len(flipped)} of {n} seeds, at {', '.join(f'{v:g}x' for v in flipped)} "
                f"the realistic value (median {f['median']:g}x)")
    if never:
        text += f"; it is never on top in {never} of {n} seeds"
    return text + "."


def _seeds(n: int, every: bool = False) -> str:
    """``"the one seed"``, ``"both seeds"``, ``"all 5 seeds"`` (``every``), or ``"3 seeds"``."""
    if n == 1:
        return "the one seed"
    if n == 2 and every:
        return "both seeds"
    return f"all {n} seeds" if every else f"{n} seeds"


def _stats(frame: pd.DataFrame, true_class: str) -> dict:
    by_value = frame.groupby("value")["p_true"]
    p = lambda v: float(frame.loc[np.isclose(frame["value"], v), "p_true"].mean())  # noqa: E731
    return {
        "correct_at_0": _share_correct(frame, 0.0, true_class),
        "correct_at_1": _share_correct(frame, 1.0, true_class),
        "correct_at_2": _share_correct(frame, 2.0, true_class),
        "modal_at_0": _modal(frame, 0.0), "modal_at_1": _modal(frame, 1.0), "modal_at_2": _modal(frame, 2.0),
        "p_true_at_0": p(0.0), "p_true_at_1": p(1.0), "p_true_at_2": p(2.0),
        "p_true_median_by_value": {f"{v:g}": float(m) for v, m in by_value.median().items()},
        "predicted_by_value": {f"{v:g}": g["predicted"].value_counts().to_dict() for v, g in frame.groupby("value")},
        "flips": flips(frame, true_class),
    }


def hypotheses(run: Run, progress: bool = True) -> dict:
    """Run both sweeps with the run's model; write result files and ``summary.json`` -> ``hypotheses``."""
    model = load_checkpoint(run.require_model())
    n_values, n_seeds, size = sizes(run)
    values = np.linspace(0.0, 2.0, n_values)
    out = {"synthetic": True, "size": size, "values": values, "seeds": list(range(n_seeds)), "sweeps": {}}
    for name, spec in SWEEPS.items():
        frame, shown = sweep(model, name, values, range(n_seeds), size, root_seed=run.profile.seed)
        results.write_table(run.name, f"hypotheses_{name}", frame)
        results.write_arrays(run.name, f"hypotheses_{name}_images", **shown)
        stats = _stats(frame, spec["true"])
        out["sweeps"][name] = {**spec, **stats, "verdict": verdict(name, stats)}
    results.write_json(run.name, "hypotheses", out)
    summary.update(run.name, hypotheses=out)
    return out


def figures(run: Run) -> list:
    """Draw notebook 07's figures from its result files."""
    res = results.read_json(run.name, "hypotheses")
    figs = []
    for name, s in res["sweeps"].items():
        frame = results.read_table(run.name, f"hypotheses_{name}")
        images = results.read_arrays(run.name, f"hypotheses_{name}_images")
        fig = plot_sweep(frame, s["true"], name, images, flips=s["flips"], synthetic=res["synthetic"],
                         title=f"Causal test: {s['what']}")
        run.save(fig, f"fig_hypotheses_{name}")
        figs.append(fig)
    return figs
