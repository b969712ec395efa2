"""The headline table: this run's numbers beside the paper's, written as ``figures/<profile>/headline.md``.

``slic paper`` prints it and writes it at the end of a run; the README's headline table is
that file from a run of the commit it is in, and the table's first line says which commit.
Every number comes from the run's ``summary.json`` and every paper number from
:mod:`slic_lib.paper`.
"""

from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from . import paper, summary
from .paths import ROOT, atomic_write, figures_dir


def commit() -> str:
    """The checkout's short commit id, with ``+changes`` when tracked files differ from it."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit (not a git checkout)"
    return f"{rev}+changes" if dirty else rev


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f} %"


def _fraction(seq: dict) -> str:
    n = seq.get("n_frames", 0)
    k = round((seq.get("fraction_classified_as_expected") or 0) * n)
    top = max(seq.get("predicted_counts", {}).items(), key=lambda kv: kv[1], default=("—", 0))[0]
    return f"{k}/{n}" + ("" if k == n else f" (mostly {top})")


def _rows(s: dict) -> list[tuple[str, str, str]]:
    """(result, paper, this run) rows for whatever the summary holds."""
    rows = []
    if "validation_accuracy" in s:
        rows.append(("validation accuracy", f"{_pct(paper.VALIDATION_ACCURACY)} ({paper.N_MISCLASSIFIED} error in {paper.N_VALIDATION})",
                     f"{_pct(s['validation_accuracy'])} ({s.get('n_misclassified')} errors in {s.get('n_validation')}; "
                     f"untrained network: {_pct(s.get('untrained_validation_accuracy'))})"))
    if "best_learning_rate" in s:
        rows.append(("selected learning rate, epoch", f"{paper.SELECTED_LEARNING_RATE:g}, epoch {paper.SELECTED_EPOCH}",
                     f"{s['best_learning_rate']:g}, epoch {s['best_epoch']} (rates {', '.join(f'{r:g}' for r in s.get('learning_rates', []))})"))
    for t in s.get("inference_seconds", []):
        rows.append((f"validation-set inference, {t['device']}, {t['precision']}",
                     f"{paper.GPU_SECONDS} s GPU, {paper.CPU_SECONDS:g} s CPU for {paper.N_VALIDATION} images (256 px, full network)",
                     f"{t['seconds']:.2f} s for {t['n_images']} images ({t['model']}): {1000 * t['seconds_per_image']:.2f} ms per image"))
    res = s.get("resolution_test")
    if res:
        tri = res["triplet"]
        rows.append(("Figure 5, AR11108", "SOT full and degraded: sunspots; AIA 1600: flares",
                     f"SOT full: {tri['sot_full']['predicted']}, degraded: {tri['sot_degraded']['predicted']}, AIA 1600: {tri['aia_1600']['predicted']}"))
        if res.get("curve"):
            points = ", ".join(f"{r['factor']:g}×: {r['accuracy']:.2f}" for r in res["curve"])
            rows.append(("accuracy vs degradation factor (beyond)", "—", points))
    split = s.get("split_comparison", {})
    if "inflation" in split:
        n_seeds = len(split.get("seeds", [0]))
        spread = f" ± {split['inflation_std']:.3f}" if "inflation_std" in split else ""
        rows.append(("every-10th split vs grouped split (beyond)", "—",
                     f"every-10th {split['every-nth']['val_accuracy_mean']:.3f}, grouped {split['grouped']['val_accuracy_mean']:.3f} "
                     f"(inflation {split['inflation']:+.3f}{spread}, {n_seeds} seed{'s' if n_seeds > 1 else ''})"))
    adv = s.get("adversarial", {}).get("sequences", {})
    for band, expected, paper_result in (("1600", "sunspots", "often flare ribbons or prominences"),
                                         ("1700", "sunspots", "often flare ribbons or prominences"),
                                         ("304", "prominences", "all flare ribbons")):
        seqs = {k: v for k, v in adv.items() if k.endswith(band) or f"-{band}" in k}
        if seqs:
            rows.append((f"AIA {band} {expected}, classified as {expected}", paper_result,
                         "; ".join(f"{k}: {_fraction(v)}" for k, v in seqs.items())))
    tl = s.get("transfer_learning") or {}
    zero = (tl.get("zero_shot") or {}).get("test_days")
    if zero:
        rule = (tl.get("baseline") or {}).get("test_days") or {}
        beside = (f"; the dark-pixel rule (chosen on the development days) on the same crops: accuracy {rule['accuracy']:.2f}, "
                  f"balanced {rule['balanced_accuracy']:.2f}" if rule else "")
        paired = (tl.get("baseline") or {}).get("paired_test_days")
        if paired:
            beside += (f"; right where the other is wrong: network {paired['network_only']}, rule {paired['rule_only']} "
                       f"(McNemar exact p = {paired['p_value']:.2f})")
        rows.append(("real BBSO H-alpha crops, held-out days, zero-shot, five-way (beyond)", "—",
                     f"accuracy {zero['accuracy']:.2f}, balanced {zero['balanced_accuracy']:.2f} ({zero['n']} crops){beside}"))
    two_way = tl.get("two_way") or {}
    if two_way.get("test_days"):
        t, paired, auc = two_way["test_days"], two_way["paired_test_days"], two_way["auc_test_days"]
        rows.append(("the same crops, the network two-way: its filament score cut where the development days say, as the rule's (beyond)", "—",
                     f"accuracy {t['accuracy']:.2f}, balanced {t['balanced_accuracy']:.2f}; right where the rule is wrong: network "
                     f"{paired['network_only']}, rule {paired['rule_only']} (McNemar exact p = {paired['p_value']:.2f}); ROC AUC network "
                     f"{auc['network_auc']:.3f}, rule {auc['rule_auc']:.3f} (difference {auc['difference']:+.3f}, 95 % interval "
                     f"{auc['ci95'][0]:+.3f} to {auc['ci95'][1]:+.3f})"))
    others = tl.get("sweep_models") or []
    if len(others) > 1:
        rows.append(("the same crops, every learning rate's model of the sweep (beyond)", "—",
                     ", ".join(f"{r['learning_rate']:g}: {r['test_days']:.2f}{' (selected)' if r['selected'] else ''}" for r in others)
                     + f" (held-out accuracy; {'simulated ' if s.get('synthetic_data', True) else ''}validation "
                     + ", ".join(f"{r.get('validation_accuracy', r.get('simulated_validation', float('nan'))):.3f}" for r in others) + ")"))
    curve = tl.get("learning_curve") or []
    if curve:
        n_max = max(r["n_train"] for r in curve)
        at_max = [r for r in curve if r["n_train"] == n_max]
        rows.append((f"real BBSO crops, held-out day, after training on {n_max} real crops (beyond)", "—",
                     ", ".join(f"{r['mode']}: {r['balanced_accuracy_mean']:.2f}" for r in at_max) + " (balanced accuracy, mean of repeats)"))
    for k in (tl.get("aia") or {}).get("kinds", []):
        rows.append((f"simulated AIA {k['kind']}: fine-tuning the H-alpha network (beyond)", "—",
                     f"{k['accuracy_before']:.2f} before, {k['accuracy_after']:.2f} after (from scratch {k['accuracy_scratch']:.2f})"))
    for name, sweep in ((s.get("hypotheses") or {}).get("sweeps") or {}).items():
        rows.append((f"hypothesis test (beyond): {name}", "the paper's explanation", sweep.get("verdict", "—")))
    if "notebook_seconds" in s:
        rows.append(("wall time", f"~{paper.HOURS_PER_LEARNING_RATE:g} h per learning rate on a {paper.GPU_NAME}",
                     ", ".join(f"{k[:2]}: {v:.0f} s" for k, v in s["notebook_seconds"].items())))
    return rows


def table(profile: str) -> str:
    """The headline table of a profile's run, as Markdown with a first line naming the commit."""
    s = summary.read(profile)
    simulated = "simulated" if s.get("synthetic_data") else "real"
    aia = "simulated" if s.get("adversarial", {}).get("synthetic", True) else "real (Fido)"
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    lines = [
        f"From `slic paper --profile {profile}` at commit {commit()} on {when} ({platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}). H-alpha data: {simulated}; AIA sequences: {aia}.",
        "",
        f"| result | paper ({paper.CITATION}) | this run |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in _rows(s)),
    ]
    return "\n".join(lines) + "\n"


def write(profile: str) -> Path:
    """Write ``figures/<profile>/headline.md`` and return its path."""
    text = table(profile)
    return atomic_write(figures_dir(profile) / "headline.md", lambda fh: fh.write(text))
