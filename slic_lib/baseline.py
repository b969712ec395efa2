"""The trivial baseline beside every real-data result: a one-line dark-pixel rule.

A filament is a dark band on the quiet chromosphere, so the share of a crop's pixels darker
than a fixed fraction of the crop's own median (:func:`dark_fraction`) separates filament
crops from quiet-Sun crops without learning anything::

    filament  <=>  mean(image < fraction * median(image)) > threshold

:func:`fit_rule` chooses ``fraction`` and ``threshold`` on development images only (the
highest balanced accuracy, see :data:`slic_lib.realdata.bbso_dataset.DEV_DAYS`);
:func:`evaluate_rule` scores the chosen rule on other images. A network that does not beat
this rule on real crops has not learned what a filament is, whatever its accuracy on
simulated data.

The rule reads the crops' intensities (relative to the local quiet Sun), not the
standardised network input: the median of a standardised image is about zero, and a ratio to
it would mean nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.stats import binomtest, bootstrap, rankdata
from sklearn.metrics import roc_auc_score

from .errors import SlicError

FRACTIONS = (0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
"""Candidate fractions of the crop's median below which a pixel counts as dark."""

LABELS = ("filaments", "quiet")
"""The two classes the rule tells apart (predicted as these names)."""


def dark_fraction(image: np.ndarray, fraction: float) -> float:
    """Share of the finite pixels darker than ``fraction`` times the image's median.

    Parameters
    ----------
    image : array_like
        A 2-D image of positive intensities (a BBSO crop relative to the quiet Sun).
    fraction : float
        Fraction of the median, in (0, 1].

    Examples
    --------
    >>> dark_fraction(np.array([[1.0, 1.0], [1.0, 0.5]]), 0.8)
    0.25
    """
    arr = np.asarray(image, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        raise SlicError("the image has no finite pixels.")
    return float(np.mean(arr < fraction * np.median(arr)))


@dataclass(frozen=True)
class DarkPixelRule:
    """``filaments`` when more than ``threshold`` of the pixels are darker than ``fraction`` x median."""

    fraction: float
    threshold: float

    def features(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """:func:`dark_fraction` of every image."""
        return np.array([dark_fraction(im, self.fraction) for im in images])

    def predict(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """``"filaments"`` or ``"quiet"`` for every image."""
        return np.where(self.features(images) > self.threshold, LABELS[0], LABELS[1])

    def to_dict(self) -> dict:
        return asdict(self)


def _balanced(pred_filament: np.ndarray, is_filament: np.ndarray) -> float:
    return 0.5 * (float(np.mean(pred_filament[is_filament])) + float(np.mean(~pred_filament[~is_filament])))


def fit_rule(images: Sequence[np.ndarray], labels: Sequence[str], fractions: Sequence[float] = FRACTIONS) -> DarkPixelRule:
    """Choose the fraction and threshold of highest balanced accuracy on these (development) images.

    For each fraction every cut between two consecutive distinct dark-pixel shares is tried;
    the threshold is the midpoint of the best cut. Ties go to the smaller fraction, then the
    lower threshold, so the choice is deterministic.

    Parameters
    ----------
    images : sequence of 2-D arrays
        Development images only.
    labels : sequence of str
        ``"filaments"`` or ``"quiet"`` per image; both must occur.
    fractions : sequence of float
        Candidate fractions of the median.
    """
    labels = np.asarray(labels)
    if len(labels) != len(images):
        raise SlicError(f"got {len(images)} images but {len(labels)} labels.")
    unknown = sorted(set(labels.tolist()) - set(LABELS))
    if unknown:
        raise SlicError(f"the dark-pixel rule tells only filaments from quiet Sun; got label(s) {', '.join(unknown)}.")
    is_filament = labels == LABELS[0]
    if is_filament.all() or not is_filament.any():
        raise SlicError("choosing the dark-pixel threshold needs both filament and quiet-Sun images.")
    best: tuple[float, float, float] | None = None
    for fraction in sorted(fractions):
        acc, cut = _best_cut(DarkPixelRule(fraction, 0.0).features(images), is_filament)
        if best is None or acc > best[0] + 1e-12:
            best = (acc, fraction, cut)
    assert best is not None
    return DarkPixelRule(best[1], best[2])


def _best_cut(values: np.ndarray, is_filament: np.ndarray) -> tuple[float, float]:
    """The cut of highest balanced accuracy for "filament when value > cut", and that accuracy.

    Every midpoint between consecutive distinct values is tried (and one cut below them all);
    ties go to the lowest cut.
    """
    distinct = np.unique(values)
    cuts = np.concatenate([[distinct[0] - 1e-9], 0.5 * (distinct[1:] + distinct[:-1])])
    accs = [_balanced(values > cut, is_filament) for cut in cuts]
    k = int(np.argmax(accs))
    return accs[k], float(cuts[k])


def filament_score(probs: np.ndarray, class_names: Sequence[str]) -> np.ndarray:
    """The network's filament-against-quiet-Sun score of each image: log p(filaments) - log p(quiet).

    Its ranking of the images is what the network knows of filaments apart from where its
    five-way argmax puts the boundary; a threshold on it (:func:`fit_threshold`) is a two-way
    decision like the rule's.
    """
    names = list(class_names)
    p = np.clip(np.asarray(probs, dtype=np.float64), 1e-12, None)
    return np.log(p[:, names.index(LABELS[0])]) - np.log(p[:, names.index(LABELS[1])])


def fit_threshold(scores: Sequence[float], labels: Sequence[str]) -> float:
    """The threshold on ``scores`` of highest balanced accuracy on these (development) images, chosen as the rule's is."""
    labels = np.asarray(labels)
    is_filament = labels == LABELS[0]
    if len(labels) != len(scores) or is_filament.all() or not is_filament.any():
        raise SlicError("choosing a threshold needs as many scores as labels, with filament and quiet-Sun images among them.")
    return _best_cut(np.asarray(scores, dtype=np.float64), is_filament)[1]


def auc_comparison(labels: Sequence[str], network: Sequence[float], rule: Sequence[float], n_resamples: int = 2000,
                   seed: int = 0) -> dict:
    """ROC AUC of filament against quiet Sun for two scores of the same images, and their difference.

    The AUC needs no threshold: it is the chance that a filament image scores above a
    quiet-Sun image (``sklearn.metrics.roc_auc_score``). The difference gets a 95 % interval
    from a bootstrap over the images (``scipy.stats.bootstrap``, percentile method), stratified
    by class and paired: the filament and the quiet-Sun images are resampled separately, and
    each image brings both its scores, so the interval reflects these images, not two
    independent samples.

    Returns
    -------
    dict
        ``network_auc``, ``rule_auc``, ``difference`` (network minus rule), ``ci95`` (low,
        high), ``n`` and ``n_resamples``.
    """
    y = np.asarray(labels) == LABELS[0]
    net, rule_ = np.asarray(network, dtype=np.float64), np.asarray(rule, dtype=np.float64)
    if not (len(y) == len(net) == len(rule_)) or y.all() or not y.any():
        raise SlicError("comparing AUCs needs one score of each kind per image, with filament and quiet-Sun images among them.")

    filament, quiet = np.flatnonzero(y), np.flatnonzero(~y)

    def auc(score: np.ndarray, fil: np.ndarray, qui: np.ndarray) -> np.ndarray:
        # Mann-Whitney: the AUC is U / (n_fil n_quiet), U from the filaments' mid-ranks among
        # both classes; rankdata works along the last axis, so a whole batch of resamples at once
        ranks = rankdata(np.concatenate([score[fil], score[qui]], axis=-1), axis=-1)
        n_fil, n_qui = fil.shape[-1], qui.shape[-1]
        return (ranks[..., :n_fil].sum(axis=-1) - n_fil * (n_fil + 1) / 2) / (n_fil * n_qui)

    def difference(fil: np.ndarray, qui: np.ndarray, axis: int = -1) -> np.ndarray:  # indices of the images drawn
        return auc(net, fil, qui) - auc(rule_, fil, qui)

    # resample the images' indices within each class, so every resample has both classes (an
    # AUC needs them), and score each drawn image with both methods, so the comparison is paired
    ci = bootstrap((filament, quiet), difference, n_resamples=n_resamples, method="percentile",
                   random_state=np.random.default_rng(seed)).confidence_interval
    net_auc, rule_auc = roc_auc_score(y, net), roc_auc_score(y, rule_)
    return {"network_auc": float(net_auc), "rule_auc": float(rule_auc), "difference": float(net_auc - rule_auc),
            "ci95": [float(ci.low), float(ci.high)], "n": int(len(y)), "n_resamples": n_resamples}


def score_answers(answers: Sequence[str], labels: Sequence[str]) -> dict:
    """Accuracy, balanced accuracy (mean recall of the classes present) and confusion counts of two-way answers.

    Parameters
    ----------
    answers, labels : sequences of str
        ``"filaments"`` or ``"quiet"`` per image: the answer given and the true class.

    Returns
    -------
    dict
        ``accuracy``, ``balanced_accuracy``, ``n`` and ``confusion`` (true class -> predicted
        class -> count, as :func:`slic_lib.finetune.confusion_frame` gives it for a network).
    """
    pred, labels = np.asarray(answers), np.asarray(labels)
    if len(labels) == 0:
        raise SlicError("no images to score.")
    present = [c for c in LABELS if c in set(labels.tolist())]
    recalls = [float(np.mean(pred[labels == c] == c)) for c in present]
    confusion = pd.DataFrame({p: [int(np.sum((labels == t) & (pred == p))) for t in present] for p in LABELS}, index=present)
    return {"accuracy": float(np.mean(pred == labels)), "balanced_accuracy": float(np.mean(recalls)), "n": int(len(labels)),
            "confusion": confusion.to_dict("index")}


def evaluate_rule(rule: DarkPixelRule, images: Sequence[np.ndarray], labels: Sequence[str]) -> dict:
    """The rule's answers on these images, scored by :func:`score_answers`."""
    if len(labels) == 0:
        raise SlicError("no images to score.")
    return score_answers(rule.predict(images), labels)


def dev_test_baseline(images: Sequence[np.ndarray], labels: Sequence[str], dev: Sequence[bool]) -> dict:
    """The rule chosen on the development images alone and scored on both sides.

    Parameters
    ----------
    images, labels : sequences
        All crops (intensities) and their ``"filaments"`` / ``"quiet"`` labels.
    dev : sequence of bool
        True for a development image; the rest are the held-out test images, which the
        choice of the rule never sees.

    Returns
    -------
    dict
        ``rule`` (fraction, threshold), ``dev_days`` and ``test_days`` scores
        (:func:`evaluate_rule`), and a one-line ``description``.
    """
    dev = np.asarray(dev, dtype=bool)
    labels = np.asarray(labels)
    if len(dev) != len(labels):
        raise SlicError(f"got {len(labels)} labels but {len(dev)} development flags.")
    pick = lambda mask: [images[i] for i in np.flatnonzero(mask)]  # noqa: E731
    rule = fit_rule(pick(dev), labels[dev])
    out = {"rule": rule.to_dict(), "dev_days": evaluate_rule(rule, pick(dev), labels[dev]),
           "description": f"filaments when more than {rule.threshold:.4f} of the pixels are darker than {rule.fraction:g} x the crop's median"}
    out["test_days"] = evaluate_rule(rule, pick(~dev), labels[~dev]) if (~dev).any() else None
    return out


def paired_comparison(network_right: Sequence[bool], rule_right: Sequence[bool]) -> dict:
    """The network against the rule on the same images: who is right where the other is wrong.

    McNemar's exact test: only the discordant images count, and under "neither is better"
    each of them is equally likely to favour either side, so the number the network alone
    gets right is binomial (``scipy.stats.binomtest``, two-sided, p = 1/2).

    Parameters
    ----------
    network_right, rule_right : sequences of bool
        Per image, whether each method's answer is the true class.

    Returns
    -------
    dict
        ``both``, ``network_only``, ``rule_only``, ``neither`` (image counts) and ``p_value``
        (1.0 without discordant images). A network that "beats the rule clearly" has
        ``network_only > rule_only`` with a small ``p_value`` (under 0.05, say).

    Examples
    --------
    >>> paired_comparison([True, True, False, True], [True, False, True, False])["network_only"]
    2
    """
    net, rule = np.asarray(network_right, dtype=bool), np.asarray(rule_right, dtype=bool)
    if net.shape != rule.shape:
        raise SlicError(f"got {net.size} network answers but {rule.size} rule answers.")
    network_only, rule_only = int(np.sum(net & ~rule)), int(np.sum(rule & ~net))
    discordant = network_only + rule_only
    return {"both": int(np.sum(net & rule)), "network_only": network_only, "rule_only": rule_only, "neither": int(np.sum(~net & ~rule)),
            "p_value": float(binomtest(network_only, discordant, 0.5).pvalue) if discordant else 1.0}
