"""Training speed of the cpu profile: the engine (`fit`: bfloat16, channels-last, data in memory) against a plain float32 loop.

The plain loop is how a training loop is usually first written, and how this project's
engine ran on a CPU before issue 13: float32, the default memory layout, the images kept as
a numpy array and copied into a tensor batch by batch. The engine is
:func:`slic_lib.train.fit` with the ``cpu`` profile's settings (batch 32, flips, domain
randomisation ``full``), which on a CPU with AVX-512 BF16 trains in bfloat16 autocast,
channels-last, from float32 tensors in memory. Both do the same augmentation and
randomisation, at the same batch size, on the same images, in one process, one step of each
in turn (load on a shared machine changes from second to second, so alternating whole epochs
was too coarse); the same comparison without randomisation gives the network's share, and the
randomisation alone is timed to show its share of an engine step.

Second part, accuracy: both are trained for ``--epochs`` on the same images (the smoke
profile's simulated FITS files in ``data/smoke/sim``, preprocessed to the cpu profile's 64x64;
or random images when they are missing, which only checks that the code runs), from the same
initialisation and the same batches, and their validation accuracies are printed. Then the
labels of float32 and bfloat16 inference are compared on every trained model at hand (this
run's and ``data/models/smoke``'s) over their datasets' images.

    python benchmarks/bench_train.py [--repeats 20] [--epochs 12] [--seeds 3]
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import Row, Table, interleaved, network_flops, peak_variants, peaks  # noqa: E402

from slic_lib.augment import augment_batch, preset, randomise_batch  # noqa: E402
from slic_lib.inference import logits, resolve_precision, to_channels_last  # noqa: E402
from slic_lib.model import SlicNet  # noqa: E402
from slic_lib.profiles import get_profile  # noqa: E402
from slic_lib.train import TrainConfig, _batches, _epoch_seed, _validate, fit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def plain_float32_fit(model: SlicNet, config: TrainConfig, images: np.ndarray, labels: np.ndarray) -> SlicNet:
    """A plain float32 loop: numpy data copied per batch, default layout; same batches and augmentation as :func:`fit`."""
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)
    randomisation = preset(config.randomise)
    for epoch in range(1, config.epochs + 1):
        seed = _epoch_seed(config.seed, epoch)
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        model.train()
        for idx in _batches(len(labels), config.batch_size, gen, 0, 1, "full"):
            xb = torch.from_numpy(np.ascontiguousarray(images[idx.numpy()][:, None], dtype=np.float32))
            yb = torch.from_numpy(labels[idx.numpy()].astype(np.int64))
            if config.augment:
                xb = augment_batch(xb, gen)
            if randomisation is not None:
                xb = randomise_batch(xb, gen, randomisation)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model


def _stepper(kind, net, opt, images, labels, x_t, y_t, bs, randomise, precision):
    """One training step of the plain loop or of the engine, on a fresh random batch each call."""
    from slic_lib.train import sgd_step

    gen = torch.Generator().manual_seed(1)

    def step() -> None:
        idx = torch.randint(0, len(labels), (bs,), generator=gen)
        if kind == "plain":
            xb = torch.from_numpy(np.ascontiguousarray(images[idx.numpy()][:, None], dtype=np.float32))
            yb = torch.from_numpy(labels[idx.numpy()].astype(np.int64))
        else:
            xb, yb = x_t[idx], y_t[idx]
        xb = augment_batch(xb, gen)
        if randomise is not None:
            xb = randomise_batch(xb, gen, randomise)
        if kind == "plain":
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        else:
            sgd_step(net, opt, xb, yb, precision)
    return step


def cpu_profile_config(**overrides) -> TrainConfig:
    p = get_profile("cpu")
    kw = dict(lr=p.learning_rates[0], epochs=1, batch_size=p.batch_size, augment=p.augment, randomise=p.randomise, device="cpu",
              cpu_amp=True)
    kw.update(overrides)
    return TrainConfig(**kw)


def cpu_profile_net(input_size: int | None = None, seed: int = 0) -> SlicNet:
    p = get_profile("cpu")
    torch.manual_seed(seed)
    return SlicNet(arch=p.arch, input_size=input_size or p.input_size, width=p.width, hidden=p.hidden)


def smoke_images(size: int) -> tuple[np.ndarray, np.ndarray, str] | None:
    """The smoke profile's simulated FITS files preprocessed to ``size`` (None when they are missing)."""
    sim = ROOT / "data" / "smoke" / "sim"
    if not sim.is_dir():
        return None
    from slic_lib.dataset import build_dataset, load_dataset
    from slic_lib.preprocess import PreprocessConfig

    with tempfile.TemporaryDirectory() as tmp:
        data = load_dataset(build_dataset(sim, Path(tmp) / "d.h5", PreprocessConfig(size=size), progress=False).path)
    return data.images, data.labels, f"{len(data)} simulated images of data/smoke/sim at {size}x{size}"


def label_agreement(model: torch.nn.Module, images: np.ndarray) -> tuple[int, int, list[float]]:
    """``(agreeing, total, margins)`` of float32 and bfloat16 labels (both channels-last, batch 64).

    ``margins``: for each disagreement, the float32 probability of the top class minus the second's (a near-tie is small).
    """
    z = logits(copy.deepcopy(model), images, 64, "cpu", "float32")
    a, b = z.argmax(1), logits(copy.deepcopy(model), images, 64, "cpu", "bfloat16").argmax(1)
    top2 = torch.softmax(z, 1).topk(2, 1).values
    margins = (top2[:, 0] - top2[:, 1])[a != b].tolist()
    return int((a == b).sum()), len(a), margins


def agreement_row(compared: str, agree: int, total: int) -> Row:
    """The table row of :func:`label_agreement`'s counts: float32 against bfloat16, in per cent agreeing."""
    return Row(compared, "float32", "bfloat16 (agreeing %)", 100.0, 100.0 * agree / total, unit="%", higher_is_better=True)


def margins_note(margins: list[float]) -> str:
    """The float32 top-two probability margins of the disagreements, smallest first."""
    return "float32 top-two probability margins " + ", ".join(f"{m:.4f}" for m in sorted(margins))


def main(argv: list[str] | None = None) -> Table:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=640, help="random training images the timed steps draw from")
    parser.add_argument("--repeats", type=int, default=20, help="timed steps per variant")
    parser.add_argument("--epochs", type=int, default=12, help="epochs of the accuracy comparison (12: the cpu profile's until it trained 18 with a falling rate)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the accuracy comparison")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    p = get_profile("cpu")
    size, bs = p.input_size, p.batch_size
    rng = np.random.default_rng(0)
    images = rng.normal(size=(args.n, size, size)).astype(np.float32)
    labels = rng.integers(0, 5, args.n)
    engine_prec = resolve_precision("auto", "cpu")

    # ---- speed: single training steps, alternated step by step (load on a shared machine changes by the second)
    base = cpu_profile_net()
    flops = 3 * network_flops(base, size)  # forward + backward (about twice the forward)
    settings = preset(p.randomise)
    x_t, y_t = torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))
    steppers = {}
    for kind in ("plain", "engine"):
        for randomise in (settings, None):
            net = copy.deepcopy(base).train()
            if kind == "engine":
                to_channels_last(net)
            opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, nesterov=True)
            steppers[(kind, randomise is not None)] = _stepper(kind, net, opt, images, labels, x_t, y_t, bs, randomise, engine_prec)
    gen = torch.Generator().manual_seed(0)
    batch = x_t[:bs].clone()
    variants = {
        "plain float32, randomise full": steppers[("plain", True)],
        f"engine ({engine_prec}), randomise full": steppers[("engine", True)],
        "plain float32, randomise off": steppers[("plain", False)],
        f"engine ({engine_prec}), randomise off": steppers[("engine", False)],
        "randomise full, one batch": lambda: randomise_batch(batch, gen, settings),
    }
    seconds = interleaved({**variants, **peak_variants()}, repeats=args.repeats, warmup=2)
    peak = peaks(seconds)
    table = Table(f"Training the cpu profile's network ({size}x{size}, width {p.width}), batch {bs}: one step at a time, "
                  f"median of {args.repeats} alternating steps each")
    table.peaks = peak
    pk = "bfloat16" if engine_prec == "bfloat16" else "float32"
    for mode in ("full", "off"):
        plain_s, engine_s = seconds[f"plain float32, randomise {mode}"], seconds[f"engine ({engine_prec}), randomise {mode}"]
        table.add(Row(f"training images/s, randomise {mode}", "plain float32 loop", f"engine, {engine_prec} channels-last",
                      bs / plain_s, bs / engine_s, unit="images/s", higher_is_better=True,
                      gflops=flops * bs / engine_s / 1e9, peak_name=pk))
    rand_share = seconds["randomise full, one batch"] / seconds[f"engine ({engine_prec}), randomise full"]
    table.notes.append(f"domain randomisation ('full') takes {seconds['randomise full, one batch'] * 1e3:.0f} ms per batch of {bs}: "
                       f"{rand_share * 100:.0f} % of the engine's step")
    table.notes.append(f"GFLOP/s counts forward and backward as 3 forward passes ({flops / 3 / 1e6:.0f} MFLOP per forward)")
    table.notes.append("plain step: numpy batch copied into a tensor, float32, default layout; engine step: rows of a float32 tensor "
                       "in memory, slic_lib.train.sgd_step (autocast, channels-last); both flip and randomise alike")

    # ---- accuracy: same images, same initialisation and batches, both ways
    found = smoke_images(size)
    if found is None:
        x, y, what = images, labels, f"{args.n} random images (data/smoke/sim is missing: only checks that the code runs)"
    else:
        x, y, what = found
    val = np.arange(len(y)) % 4 == 3
    xv, yv = torch.from_numpy(x[val]), torch.from_numpy(y[val].astype(np.int64))
    acc_plain, acc_engine, acc_engine32, t_plain, t_engine = [], [], [], 0.0, 0.0
    for seed in range(args.seeds):  # same initialisation and batches for both within a seed
        acc_cfg = cpu_profile_config(epochs=args.epochs, seed=seed)
        t0 = time.perf_counter()
        plain_net = plain_float32_fit(cpu_profile_net(seed=seed), acc_cfg, x[~val], y[~val])
        t_plain += time.perf_counter() - t0
        t0 = time.perf_counter()
        engine_net = fit(cpu_profile_net(seed=seed), acc_cfg, (x[~val], y[~val]), progress=False).model
        t_engine += time.perf_counter() - t0
        engine32 = fit(cpu_profile_net(seed=seed), replace(acc_cfg, cpu_amp=False), (x[~val], y[~val]), progress=False).model
        acc_engine32.append(_validate(engine32, xv, yv, 64, "float32")[1] * 100)
        acc_plain.append(_validate(plain_net, xv, yv, 64, "float32")[1] * 100)
        acc_engine.append(_validate(engine_net, xv, yv, 64, engine_prec)[1] * 100)
    table.add(Row(f"validation accuracy after {args.epochs} epochs, mean of {args.seeds} seeds ({int((~val).sum())} train / {int(val.sum())} val images)",
                  f"plain float32 ({t_plain:.0f} s)", f"engine {engine_prec} ({t_engine:.0f} s)", float(np.mean(acc_plain)),
                  float(np.mean(acc_engine)), unit="%", higher_is_better=True))
    table.notes.append(f"accuracy data: {what}; cpu profile settings (lr {acc_cfg.lr:g}, flips, randomise {acc_cfg.randomise}); "
                       f"per seed, plain float32: {', '.join(f'{a:.0f}' for a in acc_plain)} %, engine {engine_prec}: "
                       f"{', '.join(f'{a:.0f}' for a in acc_engine)} %, engine float32 (channels-last): {', '.join(f'{a:.0f}' for a in acc_engine32)} %")

    # ---- bfloat16 against float32 labels on trained models
    agree, total, names, margins = 0, 0, [], []
    a, n, m = label_agreement(engine_net, x)
    agree, total, margins = agree + a, total + n, margins + m
    names.append(f"this run's engine model on its {n} images: {a}/{n}")
    smoke_models = sorted((ROOT / "data" / "models" / "smoke").rglob("best.pt"))
    smoke_data = ROOT / "data" / "smoke" / "dataset.h5"
    if smoke_models and smoke_data.exists():
        from slic_lib.dataset import load_dataset
        from slic_lib.model import load_checkpoint

        sd = load_dataset(smoke_data)
        seen: set[bytes] = set()
        for path in smoke_models:
            model = load_checkpoint(path)
            key = b"".join(t.detach().float().numpy().tobytes()[:4096] for t in model.state_dict().values())
            if model.config.input_size != sd.images.shape[-1] or key in seen:
                continue  # the sweep's best model is also copied to other folders: count each model once
            seen.add(key)
            a, n, m = label_agreement(model, sd.images)
            agree, total, margins = agree + a, total + n, margins + m
            names.append(f"{path.relative_to(ROOT)}: {a}/{n}")
    table.add(agreement_row("labels of float32 and bfloat16 inference on trained models", agree, total))
    table.notes.append("label agreement per model: " + "; ".join(names))
    if margins:
        table.notes.append(f"every disagreement is a near-tie: {margins_note(margins)}")
    print(table.render())
    return table


if __name__ == "__main__":
    main()
