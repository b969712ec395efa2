"""Notebook 06: transfer learning of the run's H-alpha model (section 5's proposal, beyond the paper).

Three steps, each writing its numbers to result files (:mod:`slic_lib.results`) and to
``summary.json`` -> ``transfer_learning``; :func:`figures` draws every figure from those
files alone, so a figure can be redrawn without recomputing:

(a) :func:`bbso_zero_shot`: the model unchanged on real BBSO H-alpha filament and quiet-Sun
    crops (:mod:`slic_lib.realdata.bbso_dataset`), scored on the development and the held-out
    test days (:data:`~slic_lib.realdata.bbso_dataset.TEST_DAYS`), beside the trivial
    dark-pixel rule (:mod:`slic_lib.baseline`) chosen on the development days;
(b) :func:`bbso_learning_curve`: accuracy on the held-out day against the number of real
    training crops, for each fine-tuning mode and training from scratch
    (:func:`slic_lib.finetune.learning_curve`);
(c) :func:`aia`: fine-tuning on a few *simulated* SDO/AIA 1600/1700 sunspot and 304
    prominence frames (:mod:`slic_lib.experiments.aia_transfer`), the cases where the paper's
    network fails; every number from it is about simulated images and says so.

Sizes, epochs and repeats per profile: :class:`slic_lib.profiles.TransferSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import results, summary
from ..baseline import DarkPixelRule, auc_comparison, dev_test_baseline, filament_score, fit_threshold, paired_comparison, score_answers
from ..errors import SlicError
from ..finetune import confusion_frame, curve_summary, learning_curve, predictions, score
from ..model import SlicNet, load_checkpoint, model_from_checkpoint, read_checkpoint
from ..plots.transfer import plot_aia_transfer, plot_bbso_examples, plot_disagreements, plot_learning_curve, plot_roc
from ..realdata import bbso
from ..realdata.bbso_dataset import CropSet, load_bbso
from ..realism import normalise
from .aia_transfer import AIATransfer, aia_transfer, halpha_sets
from .run import Run

MAX_ERRORS_SHOWN = 24
"""Held-out crops drawn at most in ``fig_transfer_bbso_errors`` (a weak model gets many wrong)."""

# --------------------------------------------------------------------------------------------
# Notebook 06's steps: compute, write result files and summary.json
# --------------------------------------------------------------------------------------------


@dataclass
class BBSOZeroShot:
    """Step (a)'s crops, their day split and the base model's scores on them."""

    crops: CropSet
    train_pool: np.ndarray
    test_idx: np.ndarray
    scores: dict
    """``all_crops``, ``dev_days`` and ``test_days`` scores (:func:`slic_lib.finetune.score`) and the
    ``confusion`` counts (all crops, ``confusion_dev_days``, ``confusion_test_days``)."""
    baseline: dict | None = None
    """The dark-pixel rule (:func:`slic_lib.baseline.dev_test_baseline`), chosen on the development days."""
    two_way: dict | None = None
    """The network as a two-way decision: the ``threshold`` on :func:`slic_lib.baseline.filament_score`
    chosen on the development days, its held-out ``test_days`` accuracy, ``paired_test_days``
    against the rule and ``auc_test_days`` (:func:`slic_lib.baseline.auc_comparison`)."""


def _base(run: Run) -> SlicNet:
    return load_checkpoint(run.require_model())


def _merge_summary(run: Run, reset: bool = False, **parts) -> dict:
    """Merge ``parts`` into ``summary.json`` -> ``transfer_learning`` (started afresh with ``reset``)."""
    current = {} if reset else summary.read(run.name).get("transfer_learning", {})
    return summary.update(run.name, transfer_learning={**current, **parts})["transfer_learning"]


def bbso_zero_shot(run: Run, progress: bool = True) -> BBSOZeroShot | None:
    """Step (a): the H-alpha model, unchanged, on real BBSO crops; None when BBSO is not installed.

    Writes ``transfer_bbso.json`` (days, crop counts, scores, confusion counts) and
    ``transfer_bbso_examples.npz`` (three crops per class with the model's probabilities, for
    the figure), and starts ``summary.json`` -> ``transfer_learning`` afresh.
    """
    settings = run.profile.transfer
    base = _base(run)
    head = {"base_model": str(run.best_model), "base_model_training_data": run.label, "settings": settings.to_dict()}
    if not bbso.available():
        print(f"The real BBSO images are not installed ({bbso.INSTALL_COMMAND}); skipping (a) and (b).")
        results.write_json(run.name, "transfer_bbso", {"bbso": None})
        _merge_summary(run, reset=True, **head, bbso=None)
        return None
    crops = load_bbso(base, settings.crop_size, settings.quiet_per_image, seed=run.profile.seed, progress=progress)
    train_pool, test_idx = crops.split(settings.test_days)
    everything = np.arange(len(crops.data))
    scores = {"all_crops": score(base, crops.data, everything), "dev_days": score(base, crops.data, train_pool),
              "test_days": score(base, crops.data, test_idx), "confusion": confusion_frame(base, crops.data, everything).to_dict("index"),
              "confusion_dev_days": confusion_frame(base, crops.data, train_pool).to_dict("index"),
              "confusion_test_days": confusion_frame(base, crops.data, test_idx).to_dict("index")}
    info = {"days": crops.days, "dev_days": sorted({crops.crops[i].day for i in train_pool}),
            "test_days": sorted({crops.crops[i].day for i in test_idx}), "crops": crops.counts(),
            "train_pool": crops.counts(train_pool), "test": crops.counts(test_idx)}
    is_dev = np.isin(everything, train_pool)
    rule = dev_test_baseline([c.data for c in crops.crops], [c.label for c in crops.crops], is_dev)
    rng = np.random.default_rng(run.profile.seed)
    labels = crops.data.labels
    show = np.concatenate([rng.choice(np.flatnonzero(labels == c), 3, replace=False) for c in np.unique(labels)])
    results.write_arrays(run.name, "transfer_bbso_examples", images=crops.data.images[show], probs=predictions(base, crops.data, show),
                         labels=labels[show], class_names=np.asarray(base.class_names),
                         days=np.asarray([crops.crops[i].day for i in show]), held_out=np.isin(show, test_idx))
    # the network as a two-way decision like the rule's: its filament-against-quiet score with a
    # threshold chosen on the development days, as the rule's is (the five-way answer above stays the headline)
    names = list(crops.data.class_names)
    dev_labels = [names[k] for k in crops.data.labels[train_pool]]
    dev_score = filament_score(predictions(base, crops.data, train_pool), names)
    threshold = fit_threshold(dev_score, dev_labels)
    dark_rule = DarkPixelRule(**rule["rule"])
    per_crop = test_day_crops(crops, test_idx, predictions(base, crops.data, test_idx), dark_rule, threshold)
    results.write_table(run.name, "transfer_bbso_test_days", per_crop)
    rule["paired_test_days"] = paired_comparison(per_crop["network_right"], per_crop["rule_right"])
    dev_rule = dark_rule.features([crops.crops[i].data for i in train_pool])
    two_way = {"threshold": threshold, "dev_days": score_answers(np.where(dev_score > threshold, "filaments", "quiet"), dev_labels),
               "test_days": score_answers(per_crop["two_way"], per_crop["true"]),
               "paired_test_days": paired_comparison(per_crop["two_way_right"], per_crop["rule_right"]),
               "auc_dev_days": auc_comparison(dev_labels, dev_score, dev_rule, seed=run.profile.seed),
               "auc_test_days": auc_comparison(per_crop["true"], per_crop["network_score"], per_crop["dark_share"], seed=run.profile.seed)}
    wrong = np.flatnonzero(~(per_crop["network_right"] & per_crop["rule_right"]).to_numpy())
    results.write_arrays(run.name, "transfer_bbso_disagreements", crops=np.stack([normalise(crops.crops[test_idx[i]].data).astype(np.float32) for i in wrong])
                         if len(wrong) else np.zeros((0, 1, 1), np.float32), rows=wrong)
    results.write_json(run.name, "transfer_bbso", {"bbso": info, "zero_shot": scores, "baseline": rule, "two_way": two_way})
    _merge_summary(run, reset=True, **head, bbso=info, zero_shot=scores, baseline=rule, two_way=two_way)
    return BBSOZeroShot(crops, train_pool, test_idx, scores, rule, two_way)


def test_day_crops(crops: CropSet, test_idx: np.ndarray, probs: np.ndarray, rule: DarkPixelRule, threshold: float) -> pd.DataFrame:
    """One row per held-out crop: its day and name, the true class, the network's and the rule's answers.

    Columns: ``day``, ``crop``, ``true``, ``network`` (five-way argmax), ``p_true`` (the
    network's probability of the true class), ``network_right``, ``network_score``
    (:func:`slic_lib.baseline.filament_score`), ``two_way`` (filaments when the score is above
    ``threshold``, else quiet), ``two_way_right``, ``dark_share`` (the rule's statistic),
    ``rule`` and ``rule_right``.
    """
    names = list(crops.data.class_names)
    truth = np.asarray([names[t] for t in crops.data.labels[test_idx]])
    images = [crops.crops[i].data for i in test_idx]
    rule_pred = rule.predict(images)
    pred = probs.argmax(1)
    network_score = filament_score(probs, names)
    two_way = np.where(network_score > threshold, "filaments", "quiet")
    return pd.DataFrame({
        "day": [crops.crops[i].day for i in test_idx],
        "crop": [crops.data.paths[i] for i in test_idx],
        "true": truth,
        "network": [names[k] for k in pred],
        "p_true": probs[np.arange(len(truth)), crops.data.labels[test_idx]],
        "network_right": np.asarray([names[k] for k in pred]) == truth,
        "network_score": network_score,
        "two_way": two_way,
        "two_way_right": two_way == truth,
        "dark_share": rule.features(images),
        "rule": rule_pred,
        "rule_right": rule_pred == truth,
    })


def bbso_sweep_models(run: Run, zero_shot: BBSOZeroShot | None) -> pd.DataFrame | None:
    """Every learning rate's kept model of the sweep on the same real crops: how much one training decides.

    The selected model is one draw: trainings of the same simulated data that differ only in
    the rate transfer differently to real images, and the simulated validation accuracy that
    selects among them does not see that. One row per rate of the sweep
    (``<models>/sweep/lr_<rate>/best.pt``): ``learning_rate``, ``selected``, ``epoch``,
    ``validation_accuracy`` (on the run's validation split: simulated images by default), the accuracy on the development and held-out days and the
    held-out filament and quiet-Sun recalls. Nothing is chosen with it; it is reported
    (``transfer_bbso_sweep_models.csv`` and ``summary.json`` -> ``transfer_learning`` ->
    ``sweep_models``). None without BBSO.
    """
    if zero_shot is None or not (run.models / "sweep").is_dir():
        return None
    selected = read_checkpoint(run.require_model()).metrics.get("selected_lr")
    data, names = zero_shot.crops.data, list(zero_shot.crops.data.class_names)
    rows = []
    for lr in run.profile.learning_rates:
        path = run.models / "sweep" / f"lr_{lr:g}" / "best.pt"
        if not path.exists():
            raise SlicError(f"the sweep's model for learning rate {lr:g} is missing ({path}); run notebook 02 again.")
        checkpoint = read_checkpoint(path)
        model, metrics = model_from_checkpoint(checkpoint), checkpoint.metrics
        truth, pred = data.labels[zero_shot.test_idx], predictions(model, data, zero_shot.test_idx).argmax(1)
        row = {"learning_rate": lr, "selected": lr == selected, "epoch": int(metrics["best_epoch"]),
               "validation_accuracy": float(metrics["best_val_accuracy"]),
               "dev_days": score(model, data, zero_shot.train_pool)["accuracy"], "test_days": float(np.mean(pred == truth))}
        for cls in ("filaments", "quiet"):
            row[f"test_recall_{cls}"] = float(np.mean(pred[truth == names.index(cls)] == names.index(cls)))
        rows.append(row)
    table = pd.DataFrame(rows)
    results.write_table(run.name, "transfer_bbso_sweep_models", table)
    _merge_summary(run, sweep_models=table.to_dict("records"))
    return table


def bbso_learning_curve(run: Run, zero_shot: BBSOZeroShot | None, progress: bool = True) -> pd.DataFrame | None:
    """Step (b): held-out accuracy against the number of real training crops, per mode.

    Writes the curve (``transfer_learning_curve.csv``) and adds its means per mode and size to
    ``summary.json`` -> ``transfer_learning``; None without BBSO (``zero_shot`` None).
    """
    if zero_shot is None:
        return None
    s = run.profile.transfer
    curve = learning_curve(_base(run), zero_shot.crops.data, zero_shot.test_idx, zero_shot.train_pool, s.sizes, s.modes, s.repeats,
                           run.profile.seed, s.steps, s.lr, s.scratch_lr, s.top_blocks, s.layer_decay, s.batch_size, threads=s.threads,
                           progress=progress, workers=run.profile.workers)
    results.write_table(run.name, "transfer_learning_curve", curve)
    _merge_summary(run, learning_curve=curve_summary(curve).to_dict("records"))
    return curve


def aia(run: Run, progress: bool = True) -> AIATransfer:
    """Step (c): fine-tuning on simulated AIA frames, with H-alpha replay, scored before and after.

    Writes ``transfer_aia.csv`` (one row per kind) and ``transfer_aia.json`` (with the H-alpha
    accuracy before and after), and adds ``aia`` to ``summary.json`` -> ``transfer_learning``.
    """
    s = run.profile.transfer
    dataset = run.require_dataset() if run.dataset_path.is_file() else run.dataset_path  # absent: no H-alpha replay
    halpha, replay = halpha_sets(dataset, run.best_model, s.aia_replay, seed=run.profile.seed)
    result = aia_transfer(_base(run), s.aia_kinds, s.aia_frames, seed=run.profile.seed, n_test=s.aia_test, size=s.aia_size, mode=s.aia_mode,
                          top_blocks=s.top_blocks, lr=s.lr, layer_decay=s.layer_decay, steps=s.aia_steps, batch_size=s.batch_size,
                          scratch_lr=s.scratch_lr, halpha=halpha, replay=replay, threads=s.threads, progress=progress)
    results.write_table(run.name, "transfer_aia", result.table)
    results.write_json(run.name, "transfer_aia", result.to_dict())
    _merge_summary(run, aia=result.to_dict())
    return result


def baseline_comparison(bbso_result: dict) -> pd.DataFrame:
    """The network (five-way) beside the dark-pixel rule (two-way) on the same real crops.

    One row per method and side (``dev_days``, ``test_days``): ``accuracy``,
    ``balanced_accuracy``, ``n``, and the filament and quiet-Sun recalls; with ``two_way`` in
    ``bbso_result``, also the network's score cut at the threshold of the development days.
    """
    rows = []
    methods = [("network (five-way)", bbso_result["zero_shot"]), ("dark-pixel rule (two-way)", bbso_result["baseline"])]
    if bbso_result.get("two_way"):
        methods.append(("network (two-way: its score cut where the development days say)", bbso_result["two_way"]))
    for method, scores in methods:
        for side in ("dev_days", "test_days"):
            s = scores.get(side)
            if s is None:
                continue
            confusion = scores.get(f"confusion_{side}", s.get("confusion"))
            row = {"method": method, "days": side, "accuracy": s["accuracy"], "balanced_accuracy": s["balanced_accuracy"], "n": s["n"]}
            for cls, counts in (confusion or {}).items():
                row[f"recall_{cls}"] = counts.get(cls, 0) / max(sum(counts.values()), 1)
            rows.append(row)
    return pd.DataFrame(rows)


def held_out_sentence(zero_shot: BBSOZeroShot) -> str:
    """The network against the rule on the held-out crops, in words: the paired counts with
    McNemar's exact p, the two-way answer's, and both ROC AUCs."""
    n = zero_shot.scores["test_days"]["n"]
    paired, two_way = zero_shot.baseline["paired_test_days"], zero_shot.two_way
    tw, auc = two_way["paired_test_days"], two_way["auc_test_days"]

    def against(pair: dict, who: str) -> str:
        p = pair["p_value"]
        return (f"right where the other is wrong: {who} {pair['network_only']}, rule {pair['rule_only']} "
                f"(McNemar exact {'p < 0.001' if p < 0.001 else f'p = {p:.3f}'})")

    return (f"Held-out days, {n} crops: the network (five-way) is right on {paired['both'] + paired['network_only']}, the "
            f"dark-pixel rule on {paired['both'] + paired['rule_only']}; {against(paired, 'network')}. The network's two-way "
            f"answer (its score cut at {two_way['threshold']:.2f}, chosen on the development days): {against(tw, 'network')}. "
            f"ROC AUC, filament against quiet Sun: network {auc['network_auc']:.3f}, rule {auc['rule_auc']:.3f}, difference "
            f"{auc['difference']:+.3f} (95 % interval {auc['ci95'][0]:+.3f} to {auc['ci95'][1]:+.3f}).")


def aia_sentence(result: AIATransfer) -> str:
    """Step (c) in words: which simulated AIA kinds failed before, which fine-tuning repaired, and what
    it cost on the H-alpha validation images."""
    from .aia_transfer import REPAIRED_AT, REPAIRED_BELOW

    t, h = result.table, result.halpha
    failed, repaired = t.loc[t.failed_before, "kind"].tolist(), t.loc[t.repaired, "kind"].tolist()
    cost = ("No H-alpha validation images to score the cost on (no dataset)." if h is None else
            f"H-alpha validation accuracy {h['accuracy_before']:.3f} before and {h['accuracy_after']:.3f} after, on {h['n']} "
            f"{'simulated' if h['synthetic'] else 'real'} images.")
    return (f"Failed before fine-tuning (under {REPAIRED_BELOW:.0%} right): {', '.join(failed) or 'none'}; repaired (at least "
            f"{REPAIRED_AT:.0%} right after): {', '.join(repaired) or 'none'}. " + cost)


def _rule_sentence(baseline: dict | None) -> str:
    """The rule as the figures state it: "; rule: filaments when more than 0.20 % of pixels are darker than 0.85 x the median"."""
    rule = (baseline or {}).get("rule") or {}
    if "threshold" not in rule:
        return ""
    return (f"; rule: filaments when more than {100 * rule['threshold']:.2f} % of the pixels are darker than "
            f"{rule['fraction']:g} x the crop's median")


def figures(run: Run) -> list[Figure]:
    """Draw notebook 06's figures and tables from its result files alone (in the run's figure folder).

    The BBSO figures and tables are left out when the BBSO steps did not run (not installed).
    """
    drawn: list[tuple[str, Figure]] = []
    bbso_result = results.read_json(run.name, "transfer_bbso") if results.exists(run.name, "transfer_bbso") else {"bbso": None}
    if bbso_result["bbso"] is not None:
        confusion = pd.DataFrame.from_dict(bbso_result["zero_shot"]["confusion"], orient="index")
        confusion.index.name = "true \\ predicted"
        run.table(confusion.reset_index(), "table_transfer_zero_shot",
                  "Zero-shot: real BBSO H-alpha crops (rows: true class) classified by the H-alpha model, trained on")
        if "confusion_test_days" in bbso_result["zero_shot"]:
            held_out = pd.DataFrame.from_dict(bbso_result["zero_shot"]["confusion_test_days"], orient="index")
            held_out.index.name = "true \\ predicted"
            run.table(held_out.reset_index(), "table_transfer_zero_shot_test_days",
                      "Zero-shot on the held-out days only: real BBSO crops (rows: true class) classified by the H-alpha model, trained on")
        if bbso_result.get("baseline") is not None:
            run.table(baseline_comparison(bbso_result), "table_transfer_baseline",
                      "Real BBSO crops: the H-alpha model zero-shot beside the dark-pixel rule chosen on the development days; model trained on")
        if results.exists(run.name, "transfer_bbso_test_days", ".csv"):
            per_crop = results.read_table(run.name, "transfer_bbso_test_days")
            run.table(per_crop, "table_transfer_bbso_test_days",
                      "Every real BBSO crop of the held-out days: the network's and the dark-pixel rule's answers; network trained on")
            if "network_score" in per_crop:
                drawn.append(("fig_transfer_bbso_roc", plot_roc(per_crop, trained_on="simulated images" if run.synthetic else run.data_source)))
            wrong = results.read_arrays(run.name, "transfer_bbso_disagreements")
            n_wrong = len(wrong["rows"])
            if n_wrong:
                shown = f"the first {MAX_ERRORS_SHOWN} of {n_wrong}" if n_wrong > MAX_ERRORS_SHOWN else f"all {n_wrong}"
                drawn.append(("fig_transfer_bbso_errors", plot_disagreements(
                    wrong["crops"][:MAX_ERRORS_SHOWN], per_crop.iloc[wrong["rows"][:MAX_ERRORS_SHOWN]],
                    title=f"Real BBSO crops of the held-out days that the network or the dark-pixel rule gets wrong ({shown}); "
                          f"network trained on {'simulated images' if run.synthetic else run.data_source}"
                          + _rule_sentence(bbso_result.get("baseline")))))
        ex = results.read_arrays(run.name, "transfer_bbso_examples")
        days = [f"{d} ({'held out' if h else 'development'})" for d, h in zip(ex["days"], ex["held_out"])] if "days" in ex else None
        drawn.append(("fig_transfer_bbso_zero_shot", plot_bbso_examples(
            ex["images"], ex["probs"], ex["labels"], [str(c) for c in ex["class_names"]], notes=days,
            title=f"Real BBSO crops, zero-shot: the H-alpha model trained on {'simulated images' if run.synthetic else run.data_source}")))
        if results.exists(run.name, "transfer_learning_curve", ".csv"):
            curve = results.read_table(run.name, "transfer_learning_curve")
            run.table(curve, "table_transfer_learning_curve",
                      "Accuracy on held-out days of real BBSO crops against training crops; H-alpha model trained on")
            drawn.append(("fig_transfer_learning_curve", plot_learning_curve(curve, "balanced_accuracy", base_synthetic=run.synthetic)))
    if results.exists(run.name, "transfer_aia", ".csv"):
        table = results.read_table(run.name, "transfer_aia")
        run.table(table, "table_transfer_aia",
                  "SIMULATED SDO/AIA frames: held-out accuracy zero-shot, fine-tuned and from scratch; H-alpha model trained on")
        drawn.append(("fig_transfer_aia", plot_aia_transfer(table)))
    for name, fig in drawn:
        run.save(fig, name)
    return [fig for _, fig in drawn]
