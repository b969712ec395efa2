"""`slic classify` over full-size FITS files as a whole process, against the original approach with the same weights.

The original approach (what the paper's code did, and what issue 13 measured as the
baseline) is implemented here faithfully: one file at a time, ``astropy.io.fits`` reading the
pixels as float64, the byte-scaling of ``scipy.misc.bytescale`` and a scikit-image bicubic
anti-aliased resize to 256x256 in float64, then the network in float32, default memory
layout, a batch of one. ``slic classify`` is the project's command as a user runs it. Both
are whole processes (Python start-up, imports, loading the model, reading, preprocessing,
the network, writing results), timed from outside, alternately, in one run, with the matrix-
product peak timed in between; both use the same checkpoint: the published layout (256x256,
full width, ``slic-npz`` preprocessing as the released weights), randomly initialised.

    python benchmarks/bench_classify.py [--n 96] [--repeats 2] [--workdir DIR]

The files are simulated 512x512 frames with a sunpy WCS header (kept in ``--workdir`` between
runs). The labels of the two are compared: they differ only where float32 and bfloat16
disagree on these random weights' near-ties.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import Row, Table, interleaved, network_flops, peak_variants, peaks, write_fits_files  # noqa: E402

HERE = Path(__file__).resolve()


def original_approach(folder: Path, checkpoint: Path, out: Path) -> None:
    """The pre-slic_lib way: per file, astropy float64 -> bytescale -> skimage bicubic -> float32 net, batch 1.

    Writes ``path,label`` rows to ``out``.
    """
    import numpy as np
    import torch
    from astropy.io import fits
    from skimage.transform import resize

    from slic_lib.model import load_checkpoint

    model = load_checkpoint(checkpoint).eval()
    size = model.config.input_size
    rows = []
    with torch.no_grad():
        for path in sorted(folder.rglob("*.fits")):
            data = fits.getdata(path).astype(np.float64)
            data = np.nan_to_num(data)
            lo, hi = data.min(), data.max()
            scaled = np.floor((data - lo) * (255.0 / (hi - lo)) + 0.5)  # scipy.misc.bytescale
            img = np.floor(resize(scaled, (size, size), order=3, anti_aliasing=True, preserve_range=True, mode="reflect") + 0.5).clip(0, 255)
            x = torch.from_numpy(img[None, None]).float()
            rows.append((str(path), model.class_names[int(model(x).argmax(1))]))
    with out.open("w", newline="") as fh:
        csv.writer(fh).writerows([("path", "label"), *rows])


def quantize_supported() -> bool:
    from slic_lib import quantize

    return quantize.supported()


def _labels(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    with path.open(newline="") as fh:
        return {r["path"]: r["label"] for r in csv.DictReader(fh) if r.get("label")}


def make_checkpoint(path: Path, folder: Path) -> float:
    """The published layout with random weights and ``slic-npz`` preprocessing; returns its GFLOP per image.

    Where the CPU has an int8 engine, the checkpoint also gets int8 scales (as ``slic calibrate``
    stores them), computed from the first 32 of the benchmark's files.
    """
    import numpy as np
    import torch

    from slic_lib import quantize
    from slic_lib.classify import decode
    from slic_lib.model import Checkpoint, SlicNet, save_checkpoint
    from slic_lib.preprocess import PreprocessConfig

    torch.manual_seed(0)
    net = SlicNet(arch="slic", input_size=256, width=1.0, hidden=4096).eval()
    flops = network_flops(net, 256)
    pre = PreprocessConfig(256, "slic-npz")
    metrics = {}
    if quantize.supported():
        images = [decode(str(p), pre)[1] for p in sorted(folder.rglob("*.fits"))[:32]]
        metrics["int8"] = quantize.calibrate(net, np.stack([im for im in images if im is not None]))
    save_checkpoint(Checkpoint(net.state_dict(), net.config, pre, net.class_names, metrics=metrics), path)
    return flops / 1e9


def main(argv: list[str] | None = None) -> Table:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=96, help="FITS files (512x512)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the files and checkpoint here (default: a temporary folder)")
    parser.add_argument("--original", nargs=3, metavar=("FOLDER", "CHECKPOINT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.original:
        original_approach(*map(Path, args.original))
        return Table("original approach")

    from slic_lib.inference import cpu_has_bf16

    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        folder = work / f"fits_{args.n}"
        if len(list(folder.rglob("*.fits"))) != args.n:
            write_fits_files(folder, args.n, size=512)
        ckpt = work / "published_layout_random.pt"
        gflop = make_checkpoint(ckpt, folder)
        slic = Path(sys.executable).with_name("slic")
        help_text = subprocess.run([str(slic), "classify", "--help"], capture_output=True, text=True).stdout
        extra = ["--precision", "auto"] if "--precision" in help_text else []
        out_orig, out_slic, out_int8 = work / "original.csv", work / "slic.csv", work / "slic_int8.csv"
        classify = [str(slic), "classify", str(folder), "--model", str(ckpt), "--overwrite", "--no-progress"]
        commands = {
            "original approach": [sys.executable, str(HERE), "--original", str(folder), str(ckpt), str(out_orig)],
            "slic classify": [*classify, "--out", str(out_slic), *extra],
        }
        int8 = "int8" in help_text and quantize_supported()
        if int8:
            commands["slic classify int8"] = [*classify, "--out", str(out_int8), "--precision", "int8"]
            commands["slic classify int8 no-sunpy"] = [*classify, "--out", str(work / "slic_int8_astropy.csv"), "--precision", "int8",
                                                      "--no-sunpy"]
        failures: dict[str, str] = {}

        def runner(name: str, cmd: list[str]):
            def fn() -> None:
                done = subprocess.run(cmd, capture_output=True, text=True)
                if done.returncode != 0:
                    failures[name] = (done.stderr or done.stdout)[-2000:]
            return fn

        seconds = interleaved({**{k: runner(k, c) for k, c in commands.items()}, **peak_variants()}, repeats=args.repeats, warmup=0)
        peak = peaks(seconds)
        if failures:
            for name, err in failures.items():
                print(f"{name} failed:\n{err}", file=sys.stderr)
        a, b, c = _labels(out_orig), _labels(out_slic), _labels(out_int8)
        common = set(a) & set(b)
        agree = sum(a[p] == b[p] for p in common) / max(len(common), 1)
        common8 = set(a) & set(c)
        agree8 = sum(a[p] == c[p] for p in common8) / max(len(common8), 1)

    table = Table(f"slic classify over {args.n} full-size (512x512) FITS files, whole processes, median of {args.repeats} alternating runs")
    table.peaks = peak
    o, s = seconds["original approach"], seconds["slic classify"]
    table.add(Row("classify FITS files (whole process)", "original approach", "slic classify " + " ".join(extra), o, s, unit="s"))
    table.add(Row("files per second", "original approach", "slic classify", args.n / o, args.n / s, unit="files/s", higher_is_better=True,
                  gflops=gflop * args.n / s, peak_name="bfloat16" if cpu_has_bf16() else "float32"))
    if int8:
        i = seconds["slic classify int8"]
        table.add(Row("classify FITS files (whole process)", "original approach", "slic classify --precision int8", o, i, unit="s"))
        table.add(Row("files per second", "original approach", "slic classify --precision int8", args.n / o, args.n / i, unit="files/s",
                      higher_is_better=True, gflops=gflop * args.n / i, peak_name="bfloat16" if cpu_has_bf16() else "float32"))
        j = seconds["slic classify int8 no-sunpy"]
        table.add(Row("classify FITS files (whole process)", "original approach", "slic classify --precision int8 --no-sunpy", o, j,
                      unit="s"))
    table.notes += [
        f"network: published layout, {gflop:.1f} GFLOP/image; the GFLOP/s column counts the whole process's time (start-up and reading included)",
        f"labels agree on {agree * 100:.1f} % of {len(common)} files (random weights; float32 batch 1 against slic classify's precision)",
        *([f"int8 labels agree with the original's on {agree8 * 100:.1f} % of {len(common8)} files (random weights, whose "
           f"near-ties say little: bench_bf16_agreement.py measures a trained model); int8 scales from {min(32, args.n)} of the files"] if int8 else []),
        f"torch threads per process: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset (one per core)')}",
    ]
    if failures:
        table.notes.append("FAILED: " + ", ".join(failures) + " (see stderr); their times are not valid")
    print(table.render())
    return table


if __name__ == "__main__":
    main()
