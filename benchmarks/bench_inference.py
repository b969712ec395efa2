"""The published network's forward pass on this CPU: float32, channels-last, bfloat16, torch.compile, ONNX Runtime.

The network is the paper's layout (``SlicNet(arch="slic", input_size=256, width=1)``, the
``paper`` profile), randomly initialised (speed does not depend on the weights), on random
256x256 inputs, batches of ``--batch-size``. All variants share the same weights and run
interleaved in one process, together with the matrix-product peak (float32 and bfloat16), so
the ratios and the fraction of the peak hold even though other load on a shared machine moves
the seconds.

Variants (each through :func:`slic_lib.inference.logits`, the project's one prediction loop,
except the compiled network and ONNX Runtime, which run the same batches directly):

* float32, the default memory layout (the loop before issue 13);
* float32, channels-last;
* bfloat16 autocast, channels-last: what ``precision="auto"`` runs on a CPU with AVX-512 BF16;
* the same, torch.compile'd (``--compile``; compiling takes minutes on 2 cores);
* ONNX Runtime (float32, CPU), the same weights exported with ``torch.onnx.export``.

    python benchmarks/bench_inference.py [--n 32] [--batch-size 16] [--repeats 3] [--compile]

The last lines scale the fastest variant to the paper's 1,318 validation images beside its
895 s on a CPU and 4.66 s on a GPU.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import Row, Table, interleaved, network_flops, peak_variants, peaks  # noqa: E402

from slic_lib import paper, quantize  # noqa: E402
from slic_lib.inference import cpu_has_bf16, logits, resolve_precision, to_channels_last  # noqa: E402
from slic_lib.model import SlicNet  # noqa: E402
from slic_lib.profiles import get_profile  # noqa: E402


def published_network(seed: int = 0) -> SlicNet:
    """The paper profile's network (256x256, full width), He-initialised with ``seed``, in eval mode."""
    p = get_profile("paper")
    torch.manual_seed(seed)
    return SlicNet(arch=p.arch, input_size=p.input_size, width=p.width, hidden=p.hidden).eval()


def onnx_session(model: torch.nn.Module, input_size: int, folder: Path, threads: int):
    """An ONNX Runtime CPU session of ``model`` exported with ``torch.onnx.export`` (dynamic batch)."""
    import onnxruntime as ort

    path = folder / "slicnet.onnx"
    model = copy.deepcopy(model).float().to(memory_format=torch.contiguous_format).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice; it needs no onnxscript
        torch.onnx.export(model, (torch.zeros(1, 1, input_size, input_size),), str(path), input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main(argv: list[str] | None = None) -> Table:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=32, help="images per timed pass (scaled to the paper's 1,318)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, one per core)")
    parser.add_argument("--compile", action="store_true", help="also time the torch.compile'd bfloat16 network")
    parser.add_argument("--no-onnx", action="store_true", help="skip ONNX Runtime")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()

    net = published_network()
    size = net.config.input_size
    flops = network_flops(net, size)
    images = torch.from_numpy(np.random.default_rng(0).normal(size=(args.n, 1, size, size)).astype(np.float32))
    bs = args.batch_size
    bf16 = resolve_precision("auto", "cpu")

    plain, cl = copy.deepcopy(net), to_channels_last(copy.deepcopy(net))
    variants = {
        "float32": lambda: logits(plain, images, bs, "cpu", "float32", channels_last=False),
        "float32 channels-last": lambda: logits(cl, images, bs, "cpu", "float32", channels_last=True),
        f"{bf16} channels-last (auto)": lambda: logits(cl, images, bs, "cpu", "auto", channels_last=True),
    }
    if quantize.supported():
        # int8 as slic classify --precision int8 runs it; scales from these images (speed does not depend on them)
        q8 = quantize.quantize(copy.deepcopy(net), quantize.calibrate(net, images[:bs, 0].numpy()))
        variants["int8 channels-last (slic classify --precision int8)"] = lambda: logits(q8, images, bs, "cpu", "float32")
    if args.compile:
        compiled = torch.compile(to_channels_last(copy.deepcopy(net)))

        @torch.no_grad()
        def run_compiled() -> None:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16 == "bfloat16"):
                for s in range(0, len(images), bs):
                    compiled(images[s : s + bs].contiguous(memory_format=torch.channels_last)).float()

        variants[f"{bf16} channels-last, torch.compile"] = run_compiled
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_onnx:
            session = onnx_session(net, size, Path(tmp), threads)
            x_np = images.numpy()
            variants["ONNX Runtime float32"] = lambda: [session.run(None, {"x": x_np[s : s + bs]}) for s in range(0, len(x_np), bs)]
        # agreement of the variants' labels on these inputs (random weights: a sanity check, not accuracy)
        ref = logits(plain, images, bs, "cpu", "float32", channels_last=False).argmax(1)
        fast = logits(cl, images, bs, "cpu", "auto").argmax(1)
        seconds = interleaved({**variants, **peak_variants()}, repeats=args.repeats)
        peak = peaks(seconds)

    table = Table(f"Published network (256x256, width 1, {flops / 1e9:.1f} GFLOP/image) on the CPU, batch {bs}, {args.n} images, "
                  f"median of {args.repeats} interleaved passes")
    table.peaks = peak
    base = seconds["float32"] / args.n
    for name, s in seconds.items():
        if name == "float32":
            continue
        per_image = s / args.n
        peak = "bfloat16" if "bfloat16" in name or "int8" in name else "float32"  # int8 against the fastest float peak
        table.add(Row(f"forward pass, {name}", "PyTorch float32", name, base, per_image, unit="s/image",
                      gflops=flops / per_image / 1e9, peak_name=peak))
    table.rows.insert(0, Row("forward pass, float32 (the loop before issue 13)", "PyTorch float32", "PyTorch float32", base, base,
                             unit="s/image", gflops=flops / base / 1e9, peak_name="float32"))
    auto = f"{bf16} channels-last (auto)"
    if "ONNX Runtime float32" in seconds:
        table.add(Row(f"slic_lib ({auto}) against ONNX Runtime", "ONNX Runtime float32", f"slic_lib {auto}",
                      seconds["ONNX Runtime float32"] / args.n, seconds[auto] / args.n, unit="s/image",
                      gflops=flops * args.n / seconds[auto] / 1e9, peak_name="bfloat16" if bf16 == "bfloat16" else "float32"))
    best_name = min((k for k in seconds if k != "ONNX Runtime float32"), key=seconds.get)
    per_1318 = seconds[best_name] / args.n * paper.N_VALIDATION
    table.add(Row(f"{paper.N_VALIDATION} validation images (scaled from {args.n})", f"paper, {paper.CPU_NAME}", f"this CPU, {best_name}",
                  paper.CPU_SECONDS, per_1318, unit="s"))
    table.notes += [
        *(["int8: its GFLOP/s count the same multiply-adds, set against the bfloat16 peak (VNNI multiplies twice as many "
           "int8 pairs per instruction)"] if quantize.supported() else []),
        f"torch threads: {threads}; native bfloat16 on this CPU: {'yes' if cpu_has_bf16() else 'no'} (precision auto -> {bf16})",
        f"labels of float32 and {auto} agree on {float((ref == fast).float().mean()) * 100:.1f} % of these random inputs (random weights)",
        f"paper ({paper.CITATION}): {paper.N_VALIDATION} images in {paper.CPU_SECONDS:.0f} s on {paper.CPU_NAME}, "
        f"{paper.GPU_SECONDS} s on {paper.GPU_NAME}",
    ]
    print(table.render())
    return table


if __name__ == "__main__":
    main()
