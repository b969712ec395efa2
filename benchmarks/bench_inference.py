"""Time to classify a validation set with the paper's network, beside the paper's numbers.

The paper (section 4.1): 1318 validation images in 4.66 s on an NVIDIA Titan Xp and 895 s
on an Intel Core i7-8700 CPU, with the full network (256x256 input, 155.7 M parameters).
This script times the same network, randomly initialised (timing does not depend on the
weights), on random 256x256 inputs, end to end (host -> device, forward, argmax -> host),
for every device and precision available, and prints seconds per image, the time for 1318
images, and the ratio to the paper's time on the same kind of device. It also times the
``cpu`` profile's smaller network, to show what the default main job costs.

    python benchmarks/bench_inference.py [--n 64] [--batch-size 32] [--repeats 3]

Measured in one run, as ratios; the machine's other load changes absolute numbers.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from slic_lib.inference import time_inference
from slic_lib.model import SlicNet
from slic_lib.profiles import get_profile

PAPER = {"cpu": 895.0, "cuda": 4.66}
N_PAPER = 1318


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=64, help="images timed per setting (scaled to 1318)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    cpu_profile = get_profile("cpu")
    nets = {
        "paper network (256 px, width 1)": SlicNet(arch="slic", input_size=256),
        "cpu profile (64 px, width 1/4)": SlicNet(arch="slic", input_size=cpu_profile.input_size, width=cpu_profile.width, hidden=cpu_profile.hidden),
    }
    settings = [("cpu", "float32"), ("cpu", "bfloat16")]
    if torch.cuda.is_available():
        settings += [("cuda", "float32"), ("cuda", "bfloat16")]
    print(f"{'network':<34}{'device':<34}{'precision':<11}{'s/image':>10}{'s/1318':>10}{'paper s':>9}{'paper/this':>11}")
    for label, net in nets.items():
        size = net.config.input_size
        images = np.random.default_rng(0).normal(size=(args.n, size, size)).astype(np.float32)
        for device, precision in settings:
            t = time_inference(net, images, device=device, precision=precision, batch_size=args.batch_size, repeats=args.repeats)
            total = t["seconds_per_image"] * N_PAPER
            paper = PAPER[device]
            print(f"{label:<34}{t['device'][:33]:<34}{precision:<11}{t['seconds_per_image']:>10.4f}{total:>10.1f}{paper:>9.2f}{paper / total:>11.1f}")


if __name__ == "__main__":
    main()
