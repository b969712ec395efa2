"""Notebook 07's causal sweeps: one row per (value, seed), flips, and a verdict built from numbers."""

import numpy as np
import pandas as pd
import pytest
import torch

from slic_lib.errors import SlicError
from slic_lib.experiments import hypotheses
from slic_lib.model import build_model


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return build_model(input_size=32, width=0.125, hidden=16)


def test_sweep_gives_one_row_per_value_and_seed(tiny_model):
    frame, shown = hypotheses.sweep(tiny_model, "plage", [0.0, 1.0, 2.0], [0, 1], 64)
    assert len(frame) == 6 and set(zip(frame["value"], frame["seed"])) == {(v, s) for v in (0.0, 1.0, 2.0) for s in (0, 1)}
    probs = frame[[f"p_{c}" for c in tiny_model.class_names]].to_numpy()
    assert np.allclose(probs.sum(1), 1, atol=1e-5)
    assert (frame["p_true"] == frame["p_sunspots"]).all()
    assert set(shown) == {"value_0", "value_1", "value_2"}
    assert not np.array_equal(shown["value_0"], shown["value_2"])


def test_sweep_rejects_unknown_names(tiny_model):
    with pytest.raises(SlicError, match="unknown hypothesis sweep"):
        hypotheses.sweep(tiny_model, "seeing", [0.0], [0], 64)
    with pytest.raises(SlicError, match="at least one"):
        hypotheses.sweep(tiny_model, "corona", [], [0], 64)


def _frame(predicted_by_seed: dict[int, list[str]]) -> pd.DataFrame:
    values = [0.0, 1.0, 2.0]
    rows = [{"value": v, "seed": s, "predicted": p, "p_true": float(p == "sunspots")}
            for s, preds in predicted_by_seed.items() for v, p in zip(values, preds)]
    return pd.DataFrame(rows)


def test_flips_are_the_first_value_where_the_true_class_loses():
    frame = _frame({0: ["sunspots", "flares", "flares"], 1: ["sunspots", "sunspots", "flares"], 2: ["sunspots"] * 3,
                    3: ["flares"] * 3, 4: ["flares", "sunspots", "flares"]})
    out = hypotheses.flips(frame, "sunspots")
    # seed 3 is never right: no flip (the plot marked one at the first value, as if it had been right)
    assert out["per_seed"] == {0: 1.0, 1: 2.0, 2: None, 3: None, 4: 2.0}
    assert out["median"] == 2.0 and out["never_on_top"] == [3]


@pytest.mark.parametrize("preds, expected", [
    ({0: ["sunspots", "flares", "flares"], 1: ["sunspots", "flares", "flares"]}, "explanation holds"),
    ({0: ["filaments", "flares", "flares"], 1: ["filaments", "flares", "flares"]}, "does not hold"),
    ({0: ["sunspots"] * 3, 1: ["sunspots"] * 3}, "does not reproduce"),
    ({0: ["sunspots", "flares", "flares"], 1: ["quiet", "flares", "flares"], 2: ["quiet", "flares", "flares"]}, "only in part"),
    # at the realistic value (the second column) right in half the seeds: a tie is not "mostly classified correctly"
    ({0: ["sunspots", "sunspots", "flares"], 1: ["sunspots", "flares", "flares"]}, "half the seeds classify the realistic scene"),
])
def test_verdict_follows_the_numbers(preds, expected):
    stats = hypotheses._stats(_frame(preds), "sunspots")
    assert expected in hypotheses.verdict("plage", stats)


def test_flip_sentence_says_never_instead_of_none_and_gives_the_unit():
    some = {"true": "sunspots", "flips": {"per_seed": {0: 0.5, 1: None, 2: None, 3: None, 4: 0.25}, "median": 0.375, "never_on_top": [1, 2, 3]}}
    assert hypotheses.flip_sentence(some) == ("sunspots stops being on top in 2 of 5 seeds, at 0.25x, 0.5x the realistic value "
                                              "(median 0.375x); it is never on top in 3 of 5 seeds.")
    none = {"true": "prominences", "flips": {"per_seed": {0: None, 1: None}, "median": None, "never_on_top": []}}
    assert hypotheses.flip_sentence(none) == ("prominences never stops being on top as the knob rises from 0 to 2x the realistic "
                                              "value (both seeds).")
    never = {"true": "sunspots", "flips": {"per_seed": {0: None, 1: None}, "median": None, "never_on_top": [0, 1]}}
    assert hypotheses.flip_sentence(never) == "sunspots is never on top, at any knob value, in both seeds."
    partly = {"true": "prominences", "flips": {"per_seed": {0: None, 1: None, 2: None}, "median": None, "never_on_top": [2]}}
    assert "in the 2 seeds where it is on top at all; it is never on top in 1 of 3 seeds." in hypotheses.flip_sentence(partly)
