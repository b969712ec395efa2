"""`slic classify`'s whole run against its own network: is decoding hidden behind the network?

One run of :func:`slic_lib.classify.classify_files` over simulated full-size FITS files (a
sunpy WCS header, 512x512 float32) reports the files per second of its classification loop
(reading, checking, resampling in the decoding processes, the network, committing each batch
to the journal, the final Parquet write) and of the network's forward passes inside that same
loop; the ratio of the two is the share of the network's throughput the whole run keeps.
Afterwards the network alone is timed on the same preprocessed images
(:func:`slic_lib.inference.time_inference`, one thread), for comparison with issue 13's number.

    python benchmarks/bench_catalogue.py [--n 240] [--width 1.0] [--input 256] [--workdir DIR]

The default network is the published layout (256x256, full width) with random weights.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import write_fits_files  # noqa: E402


def make_checkpoint(path: Path, width: float, size: int) -> None:
    import torch

    from slic_lib.model import Checkpoint, SlicNet, save_checkpoint
    from slic_lib.preprocess import PreprocessConfig

    torch.manual_seed(0)
    net = SlicNet(arch="slic", input_size=size, width=width, hidden=4096 if width >= 1 else 256)
    mode = "slic-npz" if size == 256 and width == 1.0 else "standard"
    save_checkpoint(Checkpoint(net.state_dict(), net.config, PreprocessConfig(size, mode), net.class_names), path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=240, help="FITS files (512x512)")
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--input", type=int, default=256, help="network input size")
    parser.add_argument("--workers", type=int, default=None, help="decoding processes (default: slic classify's)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the files here (default: a temporary folder)")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from slic_lib.classify import classify_files, decode
    from slic_lib.inference import time_inference
    from slic_lib.model import load_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        folder = work / f"fits_{args.n}"
        if len(list(folder.glob("*.fits"))) != args.n:
            write_fits_files(folder, args.n, size=512)
        files = sorted(str(p) for p in folder.glob("*.fits"))
        ckpt = work / f"net_{args.input}_{args.width}.pt"
        make_checkpoint(ckpt, args.width, args.input)
        t0 = time.perf_counter()
        res = classify_files(files, ckpt, work / "catalogue.parquet", overwrite=True, progress=False, workers=args.workers)
        call = time.perf_counter() - t0
        model = load_checkpoint(ckpt)
        images = np.stack([decode(f, model.preprocessing)[1] for f in files])
        torch.set_num_threads(1)
        alone = time_inference(model, images, device="cpu", precision=res.precision, batch_size=32, repeats=1)

    loop, net = res.new / res.seconds, res.new / res.network_seconds
    print(f"slic classify over {args.n} simulated 512x512 FITS files, network {args.input}px width {args.width}, {res.precision}")
    print(f"  classification loop (decode + network + commits): {loop:8.2f} files/s")
    print(f"  the network inside the same loop:                 {net:8.2f} files/s")
    print(f"  ratio loop / network:                             {loop / net:8.1%}")
    print(f"  whole classify_files call (model load, hashing):  {args.n / call:8.2f} files/s")
    print(f"  network alone afterwards (1 thread):              {args.n / alone['seconds']:8.2f} files/s")


if __name__ == "__main__":
    main()
