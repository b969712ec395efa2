"""How fast can `make paper` be on this machine? The arithmetic floor of its training, against issue 13's 8 minutes.

`make paper` (cpu profile) trains the learning-rate sweep (notebook 02) and the split
comparison (notebook 03). Their arithmetic is fixed by the science settings: epochs, rates,
seeds, images and the network. This script counts it with torch's FLOP counter (a training
step as three forward passes, as in ``bench_train.py``; validation passes and notebook 06's
small fine-tuning fits are left out, so the count is a floor) and divides it by the
bfloat16 matrix-product peak measured now, both cores, and by the share of that peak the
training engine reaches (``bench_train.py``: 52-65 % with and without domain
randomisation). The time the other notebooks took is read from the last `make paper`: the
wall seconds per notebook in its ``summary.json``, when there is one.

Nothing here is timed but the peak; the result is a floor in seconds beside the goal.

    python benchmarks/bench_paper_bound.py [--profile cpu] [--efficiency 0.52 0.65]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine, matmul_peak, network_flops  # noqa: E402

from slic_lib import summary  # noqa: E402
from slic_lib.classes import CLASSES  # noqa: E402
from slic_lib.experiments.validation import SPLIT_SEEDS  # noqa: E402
from slic_lib.model import ModelConfig, SlicNet  # noqa: E402
from slic_lib.profiles import get_profile  # noqa: E402
from slic_lib.train import TrainConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 8 * 60
TRAINING_NOTEBOOKS = ("02_training_sweep", "03_validation_metrics")


def last_run(profile_name: str) -> tuple[int | None, dict[str, float]]:
    """The last `make paper` run's split-comparison epochs and wall seconds per notebook, from its ``summary.json``."""
    s = summary.read(profile_name)
    return s.get("split_comparison", {}).get("epochs"), s.get("notebook_seconds", {})


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--efficiency", type=float, nargs="+", default=[0.52, 0.65],
                        help="shares of the bfloat16 peak the training engine reaches (bench_train.py)")
    parser.add_argument("--n", type=int, default=4096, help="side of the matrices of the peak")
    args = parser.parse_args(argv)

    p = get_profile(args.profile)
    n_images = p.per_class * len(CLASSES)
    n_train = round(n_images * (1 - TrainConfig.val_fraction))
    forward = network_flops(SlicNet(ModelConfig(arch=p.arch, input_size=p.input_size, width=p.width, hidden=p.hidden)), p.input_size)
    per_epoch = 3 * forward * n_train
    sweep_runs = len(p.learning_rates) * p.epochs
    split_e, timed = last_run(p.name)
    split_source = f"from {summary.path(p.name)}" if split_e else "the profile's epochs (no run found; the selected epoch can only be fewer)"
    split_e = split_e or p.epochs
    split_runs = SPLIT_SEEDS * 2 * split_e
    flops = per_epoch * (sweep_runs + split_runs)
    peak = matmul_peak((torch.bfloat16,), n=args.n, repeats=5)["bfloat16"]

    print(f"## The arithmetic floor of `make paper --profile {p.name}`'s training against issue 13's goal ({GOAL_S} s)\n")
    print(f"machine: {machine()}")
    print(f"bfloat16 matrix-product peak in this run ({args.n}x{args.n}, median of 5): {peak:.0f} GFLOP/s\n")
    print("| training | epoch-runs | images each | GFLOP | seconds at 100 % of peak | " +
          " | ".join(f"at {e:.0%}" for e in args.efficiency) + " |")
    print("|---|---:|---:|---:|---:|" + "---:|" * len(args.efficiency))
    rows = [(f"sweep: {len(p.learning_rates)} rates x {p.epochs} epochs", sweep_runs),
            (f"split comparison: {SPLIT_SEEDS} seeds x 2 splits x {split_e} epochs", split_runs),
            ("**both**", sweep_runs + split_runs)]
    for name, runs in rows:
        gflop = per_epoch * runs / 1e9
        cells = " | ".join(f"{gflop / (peak * e):.0f} s" for e in args.efficiency)
        print(f"| {name} | {runs} | {n_train} | {gflop:,.0f} | {gflop / peak:.0f} s | {cells} |")
    print(f"\n- network: {p.arch}, {p.input_size}x{p.input_size}, width {p.width}: {forward / 1e6:.0f} MFLOP a forward pass; "
          f"a training step counted as 3 forward passes; validation passes and notebook 06's fits left out")
    print(f"- split comparison epochs: {split_e}, {split_source}")
    floor = flops / 1e9 / peak
    if timed:
        others = sum(s for name, s in timed.items() if Path(name).stem not in TRAINING_NOTEBOOKS)
        print("- the last run's notebooks: " + ", ".join(f"{k[:2]} {v:.0f} s" for k, v in timed.items()) +
              f"; without the two that train: {others:.0f} s")
        for e in [1.0, *args.efficiency]:
            total = floor / e + others
            print(f"- training at {e:.0%} of peak + the other notebooks as last run: {total:.0f} s, "
                  f"{total / GOAL_S:.2f}x the goal")
    else:
        print(f"- no notebook times in {summary.path(p.name)}: run `make paper` for the other notebooks' share")
    print(f"- the training alone at 100 % of peak: {floor:.0f} s, {floor / GOAL_S:.2f}x the goal of {GOAL_S} s")
    return floor


if __name__ == "__main__":
    main()
