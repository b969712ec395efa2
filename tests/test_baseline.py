"""The dark-pixel baseline: its numbers on a toy set, and a threshold chosen on development images only."""

import numpy as np
import pytest

from slic_lib.baseline import (DarkPixelRule, auc_comparison, dark_fraction, dev_test_baseline, evaluate_rule, filament_score, fit_rule,
                              fit_threshold)
from slic_lib.classes import CLASSES
from slic_lib.errors import SlicError


def _crop(rng, dark_rows: int, size: int = 20) -> np.ndarray:
    image = 1.0 + 0.02 * rng.standard_normal((size, size))
    image[:dark_rows] *= 0.6  # a filament: a band at 0.6 of the quiet Sun
    return image


def _toy(seed=0):
    rng = np.random.default_rng(seed)
    images = [_crop(rng, k) for k in (2, 3, 4, 1)] + [_crop(rng, 0) for _ in range(4)]
    labels = ["filaments"] * 4 + ["quiet"] * 4
    return images, labels


def test_dark_fraction_counts_pixels_below_the_fraction_of_the_median():
    image = np.ones((10, 10))
    image[:3] = 0.5
    assert dark_fraction(image, 0.8) == pytest.approx(0.3)
    assert dark_fraction(image, 0.4) == 0.0


def test_rule_numbers_on_a_toy_set():
    images, labels = _toy()
    rule = DarkPixelRule(0.8, 0.12)  # bands of 2, 3, 4 rows of 20 are 0.10, 0.15, 0.20: two of four filaments found
    s = evaluate_rule(rule, images, labels)
    assert s["accuracy"] == pytest.approx(6 / 8) and s["balanced_accuracy"] == pytest.approx(0.75) and s["n"] == 8
    assert s["confusion"] == {"filaments": {"filaments": 2, "quiet": 2}, "quiet": {"filaments": 0, "quiet": 4}}
    fitted = fit_rule(images, labels)
    assert evaluate_rule(fitted, images, labels)["accuracy"] == 1.0 and 0 <= fitted.threshold < 0.05


def test_threshold_is_chosen_on_development_images_only():
    images, labels = _toy()
    rng = np.random.default_rng(5)
    test_images = [_crop(rng, 8), _crop(rng, 0)]
    dev = [True] * 8 + [False, False]
    first = dev_test_baseline(images + test_images, labels + ["filaments", "quiet"], dev)
    other = [_crop(rng, 0), _crop(rng, 6)]  # other test crops: now both mislabelled
    second = dev_test_baseline(images + other, labels + ["filaments", "quiet"], dev)
    assert first["rule"] == second["rule"] and first["dev_days"] == second["dev_days"]
    assert first["test_days"]["accuracy"] == 1.0 and second["test_days"]["accuracy"] == 0.0


def test_rule_needs_both_classes_and_known_labels():
    images, labels = _toy()
    with pytest.raises(SlicError, match="both"):
        fit_rule(images[:4], labels[:4])
    with pytest.raises(SlicError, match="only filaments"):
        fit_rule(images, ["sunspots"] * 8)


def test_paired_comparison_counts_the_discordant_images_and_tests_them_exactly():
    from scipy.stats import binomtest

    from slic_lib.baseline import paired_comparison

    # 88 both right, the network alone right on 8, the rule alone on 1, neither on 3
    net = [True] * 88 + [True] * 8 + [False] * 1 + [False] * 3
    rule = [True] * 88 + [False] * 8 + [True] * 1 + [False] * 3
    out = paired_comparison(net, rule)
    assert (out["both"], out["network_only"], out["rule_only"], out["neither"]) == (88, 8, 1, 3)
    assert out["p_value"] == pytest.approx(0.0390625)  # 2 x P(X >= 8), X ~ Binomial(9, 1/2) = 2 x 10/512
    assert out["p_value"] == pytest.approx(binomtest(8, 9).pvalue)
    tie = paired_comparison([True, False, True, False], [False, True, False, True])
    assert tie["network_only"] == tie["rule_only"] == 2 and tie["p_value"] == 1.0
    assert paired_comparison([True, True], [True, True])["p_value"] == 1.0  # no discordant image: no evidence
    with pytest.raises(SlicError, match="answers"):
        paired_comparison([True], [True, False])


def test_the_networks_filament_score_and_its_threshold():
    probs = np.full((3, 5), 0.05)
    probs[0, CLASSES.index("filaments")], probs[0, CLASSES.index("quiet")] = 0.7, 0.1
    probs[1, CLASSES.index("filaments")], probs[1, CLASSES.index("quiet")] = 0.1, 0.7
    probs[2, CLASSES.index("flares")], probs[2, CLASSES.index("filaments")], probs[2, CLASSES.index("quiet")] = 0.6, 0.2, 0.1
    assert filament_score(probs, CLASSES) == pytest.approx([np.log(7), -np.log(7), np.log(2)])
    # the cut of highest balanced accuracy, midway between the classes; ties to the lowest cut
    assert fit_threshold([3.0, 2.0, -1.0, 0.0], ["filaments", "filaments", "quiet", "quiet"]) == pytest.approx(1.0)
    assert fit_threshold([1.0, 1.0], ["filaments", "quiet"]) < 1.0
    with pytest.raises(SlicError, match="filament and quiet-Sun"):
        fit_threshold([1.0, 2.0], ["quiet", "quiet"])


def test_auc_comparison_of_two_scores_on_the_same_images():
    labels = ["filaments"] * 4 + ["quiet"] * 4
    network = [8, 7, 6, 5, 4, 3, 2, 1]  # ranks every filament above every quiet crop: AUC 1
    rule = [8, 7, 6, 1, 5, 4, 3, 2]  # one filament below all four quiet crops: AUC 12/16
    out = auc_comparison(labels, network, rule, n_resamples=300)
    assert out["network_auc"] == 1.0 and out["rule_auc"] == 0.75 and out["difference"] == 0.25 and out["n"] == 8
    low, high = out["ci95"]
    assert 0.0 <= low <= 0.25 <= high <= 1.0
    same = auc_comparison(labels, network, network, n_resamples=100)
    assert same["difference"] == 0.0 and same["ci95"] == [0.0, 0.0]
    # every resample: the network separates the classes (AUC 1), the constant rule ties them all (AUC 0.5)
    assert auc_comparison(labels, network, [1.0] * 8, n_resamples=200)["ci95"] == [0.5, 0.5]
    with pytest.raises(SlicError, match="one score of each kind"):
        auc_comparison(labels, network, rule[:-1])
