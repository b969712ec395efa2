"""Notebook 05: the H-alpha network on AIA 1600/1700 sunspots and 304 prominences (Figs 4, 6, 8, 9)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from .. import observations, results, summary
from ..inference import predict_proba
from ..model import load_checkpoint
from ..plots.adversarial import plot_sequence
from ..preprocess import preprocess_array
from .observations import observation_maps
from .run import Run


def _sequence_summary(obs, class_names, probs: np.ndarray) -> dict:
    predicted = [class_names[i] for i in probs.argmax(1)]
    return {
        "figure": obs.figure,
        "expected": obs.expected_class,
        "n_frames": len(probs),
        "fraction_classified_as_expected": float(np.mean([p == obs.expected_class for p in predicted])) if len(probs) else None,
        "predicted_counts": dict(Counter(predicted)),
        "mean_probabilities": dict(zip(class_names, probs.mean(0))) if len(probs) else {},
    }


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
