"""Time to classify a validation set with the paper's network, beside the paper's numbers.

The paper (section 4.1) timed its validation set on one GPU and one CPU with the full network
(the ``paper`` profile: 256x256 input, full width); the numbers and devices are in
:mod:`slic_lib.paper`, and the script prints them first. This script times the same network,
randomly initialised (timing does not depend on the weights), on random inputs, end to end
(host -> device, forward, argmax -> host) with :func:`slic_lib.inference.time_inference`, for
every device and precision available, and prints seconds per image, the time for the paper's
number of images, and the ratio to the paper's time on the same kind of device. It also times
the ``cpu`` profile's smaller network, to show what the default main job costs.

    python benchmarks/bench_inference.py [--n 64] [--batch-size 32] [--repeats 3]

Measured in one run, as ratios; the machine's other load changes absolute numbers.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from slic_lib import paper
from slic_lib.inference import time_inference
from slic_lib.model import SlicNet
from slic_lib.profiles import get_profile

PAPER_SECONDS = {"cpu": paper.CPU_SECONDS, "cuda": paper.GPU_SECONDS}


def _net(profile_name: str) -> tuple[str, SlicNet]:
    p = get_profile(profile_name)
    width = "1" if p.width == 1 else f"1/{round(1 / p.width)}"
    label = f"{profile_name} profile ({p.input_size} px, width {width})"
    return label, SlicNet(arch="slic", input_size=p.input_size, width=p.width, hidden=p.hidden)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=64, help=f"images timed per setting (scaled to {paper.N_VALIDATION})")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    nets = dict(_net(name) for name in ("paper", "cpu"))
    settings = [("cpu", "float32"), ("cpu", "bfloat16")]
    if torch.cuda.is_available():
        settings += [("cuda", "float32"), ("cuda", "bfloat16")]
    n_paper = paper.N_VALIDATION
    print(f"paper ({paper.CITATION}): {n_paper} images in {paper.GPU_SECONDS} s on {paper.GPU_NAME}, "
          f"{paper.CPU_SECONDS:.0f} s on {paper.CPU_NAME}")
    print(f"{'network':<34}{'device':<34}{'precision':<11}{'s/image':>10}{f's/{n_paper}':>10}"
          f"{'paper s':>9}{'paper/this':>11}")
    for label, net in nets.items():
        size = net.config.input_size
        images = np.random.default_rng(0).normal(size=(args.n, size, size)).astype(np.float32)
        for device, precision in settings:
            t = time_inference(net, images, device=device, precision=precision, batch_size=args.batch_size,
                               repeats=args.repeats)
            total = t["seconds_per_image"] * n_paper
            reference = PAPER_SECONDS[device]
            print(f"{label:<34}{t['device'][:33]:<34}{precision:<11}{t['seconds_per_image']:>10.4f}{total:>10.1f}"
                  f"{reference:>9.2f}{reference / total:>11.1f}")


if __name__ == "__main__":
    main()
