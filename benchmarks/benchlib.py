"""Helpers shared by the speed benchmarks: the machine, its matrix-product peak, interleaved timing, the table.

This machine (and CI's) is shared, so absolute times drift from minute to minute. Every
benchmark therefore measures the variants it compares in one run, interleaved round-robin
(A, B, C, A, B, C, ...) so that a burst of someone else's load hits all of them alike, takes
medians, and measures the matrix-product peak (float32 and bfloat16) in the same run: the
ratios and the fraction of the peak are what count, not the seconds.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn


def machine() -> str:
    """One line: processor, cores, torch threads, bfloat16 support, torch version and the load average."""
    from slic_lib.inference import cpu_has_bf16, cpu_name

    load = " ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    gpu = f"; GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return (f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} on {torch.get_num_threads()} thread(s), "
            f"native bfloat16: {'yes' if cpu_has_bf16() else 'no'}, load average {load}{gpu}")


def interleaved(variants: dict[str, Callable[[], object]], repeats: int = 3, warmup: int = 1) -> dict[str, float]:
    """Median seconds of each variant, timed round-robin after ``warmup`` untimed rounds.

    Parameters
    ----------
    variants
        Name -> a call to time (it should finish its work before returning, e.g. synchronise a GPU).
    repeats
        Timed rounds; each round calls every variant once, in order.
    warmup
        Untimed rounds first (allocations, oneDNN kernel selection, compilation).
    """
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    for _ in range(warmup):
        for fn in variants.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def matmul_flops(n: int) -> float:
    """Floating-point operations of one ``n x n`` by ``n x n`` matrix product (a multiply and an add each)."""
    return 2.0 * n**3


def peak_variants(dtypes: tuple[torch.dtype, ...] = (torch.float32, torch.bfloat16), n: int = 2048,
                  device: str = "cpu", reps: int = 1) -> dict[str, Callable[[], None]]:
    """``reps`` ``n x n`` matrix products per dtype, as calls for :func:`interleaved` (named ``peak <dtype>``).

    Timed in the same rounds as the compared variants, they give the practical peak of the
    machine's arithmetic as torch reaches it (oneDNN/MKL on a CPU, cuBLAS on a GPU) under the
    same load; :func:`peaks` turns their seconds into GFLOP/s. On a GPU use a large ``n``
    (8192) and several ``reps`` per call: one 2048-product takes tens of microseconds there,
    so launch and synchronisation would halve the "peak" (an H200 read 219 TFLOP/s so).
    """
    def call(a: torch.Tensor, b: torch.Tensor) -> Callable[[], None]:
        def fn() -> None:
            for _ in range(reps):
                a @ b
            if device != "cpu":
                torch.cuda.synchronize()
        return fn

    out = {}
    for dt in dtypes:
        a, b = torch.randn(n, n, device=device).to(dt), torch.randn(n, n, device=device).to(dt)
        out[f"peak {str(dt).replace('torch.', '')}"] = call(a, b)
    return out


def peaks(seconds: dict[str, float], n: int = 2048, reps: int = 1) -> dict[str, float]:
    """GFLOP/s per dtype from the ``peak <dtype>`` entries of :func:`interleaved`'s result (removed from it)."""
    names = [k for k in seconds if k.startswith("peak ")]
    return {k[len("peak "):]: reps * matmul_flops(n) / seconds.pop(k) / 1e9 for k in names}


def matmul_peak(dtypes: tuple[torch.dtype, ...] = (torch.float32, torch.bfloat16), n: int = 2048, repeats: int = 5,
                device: str = "cpu") -> dict[str, float]:
    """GFLOP/s of an ``n x n`` matrix product per dtype, the median of ``repeats``, interleaved."""
    return peaks(interleaved(peak_variants(dtypes, n, device), repeats=repeats), n)


def network_flops(model: nn.Module, input_size: int, in_channels: int = 1) -> float:
    """Floating-point operations of one image's forward pass (torch's FLOP counter: 2 per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, in_channels, input_size, input_size, device=next(model.parameters()).device))
    finally:
        model.train(was_training)
    return float(counter.get_total_flops())


@dataclass
class Row:
    """One comparison: a baseline and a candidate, each a time (or a count) per item."""

    compared: str
    baseline: str
    candidate: str
    baseline_value: float
    candidate_value: float
    unit: str = "s"
    higher_is_better: bool = False
    gflops: float | None = None
    peak_name: str | None = None

    @property
    def ratio(self) -> float:
        """How many times better the candidate is (speed-up; > 1 means faster)."""
        if self.higher_is_better:
            return self.candidate_value / self.baseline_value
        return self.baseline_value / self.candidate_value


@dataclass
class Table:
    """A benchmark's printed result: the machine, the peaks of this run, and one row per comparison."""

    title: str
    peaks: dict[str, float] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def percent_of_peak(self, row: Row) -> float | None:
        if row.gflops is None or row.peak_name not in self.peaks:
            return None
        return 100.0 * row.gflops / self.peaks[row.peak_name]

    def render(self) -> str:
        """The table as text (markdown-compatible), with the machine line and this run's peaks."""
        lines = [f"## {self.title}", "", f"machine: {machine()}"]
        if self.peaks:
            lines.append("matrix-product peak in this run: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in self.peaks.items()))
        lines += ["", "| compared | baseline | value | candidate | value | ratio | candidate GFLOP/s | % of peak |",
                  "|---|---|---:|---|---:|---:|---:|---:|"]
        for r in self.rows:
            pct = self.percent_of_peak(r)
            g = "" if r.gflops is None else f"{r.gflops:.0f}"
            p = "" if pct is None else f"{pct:.0f} % of {r.peak_name}"
            lines.append(f"| {r.compared} | {r.baseline} | {_fmt(r.baseline_value)} {r.unit} | {r.candidate} | "
                         f"{_fmt(r.candidate_value)} {r.unit} | {r.ratio:.2f}x | {g} | {p} |")
        lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines)


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"


def write_fits_files(folder: Path, n: int, size: int = 512, classes: tuple[str, ...] | None = None, seed: int = 0) -> list[Path]:
    """``n`` full-size FITS images with a sunpy-style WCS header, round-robin over ``classes`` sub-folders.

    Each image is a smooth disc-like pattern plus noise (float32, like a calibrated frame);
    the pixel values do not matter for speed, the file size and header do.
    """
    import astropy.units as u
    import sunpy.map
    from astropy.coordinates import SkyCoord
    from sunpy.coordinates import frames

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size] / size
    paths = []
    for i in range(n):
        sub = folder / classes[i % len(classes)] if classes else folder
        sub.mkdir(parents=True, exist_ok=True)
        t = f"2012-01-{1 + i % 28:02d}T{i % 24:02d}:00:00"
        coord = SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=frames.Helioprojective, obstime=t, observer="earth")
        angle = rng.uniform(0, np.pi)
        data = (1000 + 300 * np.sin(2 * np.pi * (2 + i % 5) * (xx * np.cos(angle) + yy * np.sin(angle)))
                + rng.normal(0, 60, (size, size))).astype(np.float32)
        header = sunpy.map.make_fitswcs_header(data, coord, scale=[0.1, 0.1] * u.arcsec / u.pix, wavelength=6563 * u.AA)
        path = sub / f"frame_{i:04d}.fits"
        sunpy.map.Map(data, header).save(path, overwrite=True)
        paths.append(path)
    return paths
