"""The cpu profile's learning-rate sweep: its rates one after another on every core, against side by side.

:func:`slic_lib.sweep.train_each` runs independent trainings in joblib worker processes, each
on its share of the cores. On a 2-core machine the cpu profile's small network (64x64,
width 0.25) gains little from a second intra-op thread, so its three rates trained side by
side, one thread each, should beat three two-thread trainings in a row. Both variants train
the same rates for the same epochs on the same images (random images of the cpu profile's
shape, or a dataset file given with ``--data``), with the profile's settings (bfloat16 where
the CPU has it, domain randomisation), in one run, in alternating order.

    python benchmarks/bench_sweep.py [--epochs 4] [--repeats 2] [--data data/cpu/dataset.h5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import Row, Table  # noqa: E402

from slic_lib.dataset import SolarData, load_dataset  # noqa: E402
from slic_lib.experiments.run import Run  # noqa: E402
from slic_lib.experiments.training import model_config, train_config  # noqa: E402
from slic_lib.preprocess import PreprocessConfig  # noqa: E402
from slic_lib.profiles import get_profile  # noqa: E402
from slic_lib.sweep import sweep  # noqa: E402


def random_data(n: int, size: int, seed: int = 0) -> SolarData:
    """``n`` random images in five classes, in observing runs of four (the grouped split needs them)."""
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(n, size, size)).astype(np.float32)
    labels = np.arange(n) % 5
    return SolarData.from_arrays(images, labels, ("filaments", "flares", "prominences", "quiet", "sunspots"),
                                 PreprocessConfig(size=size, mode="relative"), groups=np.arange(n) // 4)


def main(argv: list[str] | None = None) -> Table:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4, help="epochs per rate")
    parser.add_argument("--repeats", type=int, default=2, help="timed sweeps per variant (alternating)")
    parser.add_argument("--data", type=Path, help="a dataset file (default: random images of the cpu profile's shape)")
    parser.add_argument("--n", type=int, default=3000, help="random images, without --data (the cpu profile has 3000)")
    args = parser.parse_args(argv)

    profile = get_profile("cpu", epochs=args.epochs)
    data = load_dataset(args.data) if args.data else random_data(args.n, profile.input_size)
    run = Run(profile, "simulator")
    config, net = train_config(run, data), model_config(run, data)
    workers = profile.workers
    times: dict[int, list[float]] = {1: [], workers: []}
    accuracy: dict[int, list[float]] = {1: [], workers: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for w in ((1, workers) if r % 2 == 0 else (workers, 1)):
                out = Path(tmp) / f"w{w}"
                t0 = time.perf_counter()
                result = sweep(data, net, config, profile.learning_rates, out, resume=False, progress=False, workers=w)
                times[w].append(time.perf_counter() - t0)
                accuracy[w].append(result.best_val_accuracy)
                shutil.rmtree(out)
    table = Table(f"The cpu profile's sweep: {len(profile.learning_rates)} rates x {args.epochs} epochs on "
                  f"{len(data)} images ({'random' if not args.data else args.data.name}), median of {args.repeats}")
    table.add(Row("sweep wall time", "one after another, all cores each", f"{workers} side by side, one process each",
                  float(np.median(times[1])), float(np.median(times[workers]))))
    table.notes += [
        f"threads: torch default per training one after another; joblib's share ({max(1, (os.cpu_count() or 1) // workers)} "
        f"per process) side by side",
        f"settings: cpu_amp {config.cpu_amp}, randomise {config.randomise}, batch {config.batch_size}",
        f"best validation accuracy, one after another {np.round(accuracy[1], 3).tolist()}, side by side "
        f"{np.round(accuracy[workers], 3).tolist()} (the thread count changes the order of sums, so the runs differ in rounding)",
        f"all times (s): one after another {np.round(times[1], 1).tolist()}, side by side {np.round(times[workers], 1).tolist()}",
    ]
    print(table.render())
    return table


if __name__ == "__main__":
    main()
