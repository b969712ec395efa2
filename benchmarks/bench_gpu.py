"""The paper profile on a GPU: the 1,318 validation images classified, and one training epoch of 11,857 images.

Issue 13's GPU goals, for one H100: the validation set classified in under 0.5 s, and one
epoch of the paper's 11,857 training images at 256x256 (batch 32, SGD with Nesterov momentum)
in under 12 s, so that the paper's 3 learning rates x 100 epochs fit in one hour. The network
is the paper profile's (256x256, full width), randomly initialised, on random images kept
on the GPU as float32 tensors. Compared, in one run on one device:

* inference: :func:`slic_lib.inference.logits` in float32 (the loop before issue 13: default
  layout), and with ``precision="auto"`` (bfloat16, channels-last), and the latter
  torch.compile'd;
* training: :func:`slic_lib.train.fit` for two epochs (the second is timed, so compilation and
  cuDNN's autotuning are left out) in float32 default layout and in the engine's bfloat16
  channels-last, eager and compiled (``fit(..., compile=True)``).

The matrix-product peak (float32 with TF32 off, bfloat16) is measured in the same run.

    python benchmarks/bench_gpu.py                      # on a GPU machine
    python benchmarks/bench_gpu.py --device cpu --n-train 64 --n-val 32 --input-size 64 --width 0.25 --no-compile
                                                        # checks the script on a CPU in a minute (numbers meaningless)
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import Row, Table, interleaved, network_flops, peak_variants, peaks  # noqa: E402

from slic_lib import paper  # noqa: E402
from slic_lib.inference import logits, resolve_device, resolve_precision, to_channels_last  # noqa: E402
from slic_lib.model import SlicNet  # noqa: E402
from slic_lib.train import TrainConfig, fit  # noqa: E402

GOAL_VALIDATION_S = 0.5
GOAL_EPOCH_S = 12.0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def epoch_seconds(model: SlicNet, x: torch.Tensor, y: torch.Tensor, amp: bool, channels_last: bool, compile: bool,
                  device: torch.device, randomise: str = "off") -> float:
    """Seconds of the second of two training epochs of :func:`fit` (paper settings: batch 32, lr 5e-4)."""
    model = copy.deepcopy(model)
    if not channels_last:  # the loop before issue 13: default layout (fit makes the weights channels-last)
        model = _ContiguousNet(model)
    config = TrainConfig(lr=paper.SELECTED_LEARNING_RATE, epochs=2, batch_size=paper.BATCH_SIZE, amp=amp, device=str(device),
                         randomise=randomise, augment=randomise != "off")
    _sync(device)
    result = fit(model, config, (x, y), progress=False, compile=compile)
    _sync(device)
    return float(result.history[-1]["seconds"])


class _ContiguousNet(torch.nn.Module):
    """A network that undoes channels-last on its input and weights: the default-layout baseline of the engine."""

    def __init__(self, net: SlicNet) -> None:
        super().__init__()
        self.net = net
        self.config, self.class_names, self.preprocessing = net.config, net.class_names, net.preprocessing

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for p in self.net.parameters():
            if p.ndim == 4 and not p.is_contiguous():
                p.data = p.data.contiguous()
        return self.net(x.contiguous())


def main(argv: list[str] | None = None) -> Table:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--n-train", type=int, default=paper.N_TRAIN)
    parser.add_argument("--n-val", type=int, default=paper.N_VALIDATION)
    parser.add_argument("--input-size", type=int, default=256)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=256, help="inference batch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile'd variants")
    parser.add_argument("--no-float32-epoch", action="store_true", help="skip the float32 training epoch (the slowest)")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False  # float32 means float32 (the paper's arithmetic)
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    hidden = 4096 if args.width == 1 else 256
    net = SlicNet(arch="slic", input_size=args.input_size, width=args.width, hidden=hidden).to(device)
    flops = network_flops(net, args.input_size)
    s = args.input_size
    xv = torch.randn(args.n_val, 1, s, s, device=device)
    xt = torch.randn(args.n_train, 1, s, s, device=device)
    yt = torch.randint(0, 5, (args.n_train,), device=device)
    prec = resolve_precision("auto", device)
    bs = args.batch_size

    plain, fast = copy.deepcopy(net), to_channels_last(copy.deepcopy(net))
    variants = {
        "float32": lambda: (logits(plain, xv, bs, device, "float32", channels_last=False), _sync(device)),
        f"{prec} channels-last": lambda: (logits(fast, xv, bs, device, "auto"), _sync(device)),
    }
    if not args.no_compile:
        compiled = torch.compile(to_channels_last(copy.deepcopy(net)).eval())

        @torch.no_grad()
        def run_compiled() -> None:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=prec == "bfloat16"):
                for i in range(0, len(xv), bs):
                    compiled(xv[i : i + bs].contiguous(memory_format=torch.channels_last)).float().cpu()
            _sync(device)

        variants[f"{prec} channels-last, torch.compile"] = run_compiled
    pk_n, pk_reps = (8192, 10) if device.type == "cuda" else (2048, 1)
    seconds = interleaved({**variants, **peak_variants(n=pk_n, device=str(device), reps=pk_reps)}, repeats=args.repeats, warmup=2)
    peak = peaks(seconds, n=pk_n, reps=pk_reps)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    table = Table(f"Paper profile on {name}: {args.n_val} validation images ({args.input_size}x{args.input_size}, width {args.width:g}, "
                  f"{flops / 1e9:.1f} GFLOP/image) and one epoch of {args.n_train} training images")
    table.peaks = peak
    base = seconds.pop("float32")
    pk = "bfloat16" if prec == "bfloat16" else "float32"
    table.add(Row(f"classify {args.n_val} images (goal < {GOAL_VALIDATION_S} s on an H100)", "float32", "float32", base, base, unit="s",
                  gflops=flops * args.n_val / base / 1e9, peak_name="float32"))
    for k, v in seconds.items():
        table.add(Row(f"classify {args.n_val} images (goal < {GOAL_VALIDATION_S} s on an H100)", "float32", k, base, v, unit="s",
                      gflops=flops * args.n_val / v / 1e9, peak_name=pk))
    best = min(seconds.values())
    table.add(Row(f"classify {paper.N_VALIDATION} images, scaled", f"paper, {paper.GPU_NAME}", f"this run's fastest, {name}",
                  paper.GPU_SECONDS, best * paper.N_VALIDATION / args.n_val, unit="s"))

    # training epochs: one variant at a time (each is a whole fit)
    train_flops = 3 * flops * args.n_train
    epochs: dict[str, float] = {}
    if not args.no_float32_epoch:
        epochs["float32"] = epoch_seconds(net, xt, yt, amp=False, channels_last=False, compile=False, device=device)
    epochs[f"{prec} channels-last"] = epoch_seconds(net, xt, yt, amp=True, channels_last=True, compile=False, device=device)
    if not args.no_compile:
        epochs[f"{prec} channels-last, torch.compile"] = epoch_seconds(net, xt, yt, amp=True, channels_last=True, compile=True, device=device)
    try:  # the cpu profile's domain randomisation on the GPU (the paper profile trains without it)
        epochs[f"{prec} channels-last, domain randomisation"] = epoch_seconds(net, xt, yt, amp=True, channels_last=True, compile=False,
                                                                             device=device, randomise="full")
    except Exception as exc:  # a failure here must not cost the rows above
        print(f"domain-randomised epoch failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    ref_name = "float32" if "float32" in epochs else f"{prec} channels-last"
    for k, v in epochs.items():
        table.add(Row(f"one epoch of {args.n_train} images, batch {paper.BATCH_SIZE} (goal < {GOAL_EPOCH_S:g} s on an H100)", ref_name, k,
                      epochs[ref_name], v, unit="s", gflops=train_flops / v / 1e9, peak_name="float32" if k == "float32" else pk))
    fastest = min(epochs.values()) * paper.N_TRAIN / args.n_train
    table.notes += [
        f"the paper's 3 learning rates x {paper.EPOCHS} epochs at this run's fastest epoch: {3 * paper.EPOCHS * fastest / 3600:.2f} h "
        f"(validation not included), against about 9 h on the paper's {paper.GPU_NAME}",
        "training GFLOP/s counts forward and backward as 3 forward passes; epoch times are the second of two epochs (no compilation)",
        "TF32 is off: float32 rows are true float32",
    ]
    print(table.render())
    return table


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")
