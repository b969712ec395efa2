"""The paper's Eqs. 9-14 against scikit-learn, on the paper's own Table 1."""

import numpy as np

from slic_lib.classes import CLASSES
from slic_lib.inference import time_inference
from slic_lib.metrics import outcome_counts, report
from slic_lib.model import SlicNet

from slic_lib.paper import TABLE_1


def _predictions_from(cm):
    y_true, y_pred = [], []
    for i, row in enumerate(cm):
        for j, n in enumerate(row):
            y_true += [i] * n
            y_pred += [j] * n
    return np.array(y_true), np.array(y_pred)


def test_table_1_gives_the_papers_numbers():
    r = report(*_predictions_from(TABLE_1), CLASSES)
    np.testing.assert_array_equal(r.confusion, TABLE_1)
    assert r.n == 1318 and r.n_errors == 1
    assert round(r.accuracy * 100, 2) == 99.92
    assert r.recall[0] < 1 and np.all(r.recall[1:] == 1)  # filament recall is the only one below 1
    assert r.precision[1] < 1 and np.all(np.delete(r.precision, 1) == 1)  # and flare precision
    d = r.to_dict()
    assert d["confusion_matrix"][0][1] == 1 and "filaments" in d["recall"]
    assert "99.92" in str(r)


def test_equations_9_to_14_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, 300)
    y_pred = np.where(rng.random(300) < 0.7, y_true, rng.integers(0, 5, 300))
    r = report(y_true, y_pred, CLASSES)
    c = outcome_counts(r.confusion)
    np.testing.assert_allclose(r.precision, c["tp"] / (c["tp"] + c["fp"]))
    np.testing.assert_allclose(r.recall, c["tp"] / (c["tp"] + c["fn"]))
    assert np.all(c["tp"] + c["fp"] + c["fn"] + c["tn"] == 300)


def test_time_inference_reports_device_and_counts():
    model = SlicNet(arch="slic", input_size=32, width=0.125, hidden=16)
    t = time_inference(model, np.zeros((10, 32, 32), np.float32), device="cpu", batch_size=4, repeats=1)
    assert t["n_images"] == 10 and t["seconds"] > 0 and t["device"].startswith("CPU")
    assert t["seconds_per_image"] == t["seconds"] / 10
