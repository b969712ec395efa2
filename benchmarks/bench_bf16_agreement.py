"""bfloat16 (and int8) against float32 labels of a trained model on its own validation images (issue 13, item 1).

The goal: bfloat16 labels agree with float32 ones on at least 99.5 % of a trained model's
validation images. By default the model is the one ``make paper`` selected
(``data/<profile>/...``, profile ``cpu``) and the images are its validation split, rebuilt with
the training configuration's split and seed; every disagreement is listed with its float32
top-two probability margin (a near-tie is small).

    python benchmarks/bench_bf16_agreement.py                  # data/models/cpu/best.pt on data/cpu/dataset.h5
    python benchmarks/bench_bf16_agreement.py --model M --dataset D
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import agreement_row, label_agreement, margins_note  # noqa: E402
from benchlib import Row, Table  # noqa: E402

import copy  # noqa: E402

import torch  # noqa: E402

from slic_lib import quantize  # noqa: E402
from slic_lib.dataset import load_dataset  # noqa: E402
from slic_lib.inference import logits  # noqa: E402
from slic_lib.inference import resolve_precision  # noqa: E402
from slic_lib.model import load_checkpoint, read_checkpoint  # noqa: E402
from slic_lib.paths import data_root, models_dir  # noqa: E402
from slic_lib.splits import split  # noqa: E402


def main(argv: list[str] | None = None) -> Table:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--model", type=Path, default=None, help="checkpoint (default: data/models/<profile>/best.pt)")
    parser.add_argument("--dataset", type=Path, default=None, help="dataset file (default: data/<profile>/dataset.h5)")
    args = parser.parse_args(argv)
    model_path = args.model or models_dir(args.profile) / "best.pt"
    data_path = args.dataset or data_root() / args.profile / "dataset.h5"
    for p in (model_path, data_path):
        if not p.exists():
            sys.exit(f"{p} does not exist: run 'make paper' (or 'slic paper --profile {args.profile}') first, or name --model and --dataset.")
    if resolve_precision("auto") != "bfloat16":
        sys.exit("this CPU does not compute bfloat16 natively (no AVX-512 BF16 or AMX): 'auto' runs float32 here, nothing to compare.")
    ckpt = read_checkpoint(model_path)
    model = load_checkpoint(model_path)
    data = load_dataset(data_path)
    tc = ckpt.train_config
    _, val = split(data, tc.get("split", "grouped"), tc.get("val_fraction", 0.1), tc.get("seed", 0))
    table = Table(f"bfloat16 and int8 against float32 labels: {model_path} on the validation split of {data_path}")
    for name, idx in (("validation split", val), ("whole dataset", np.arange(len(data)))):
        agree, total, margins = label_agreement(model, data.images[idx])
        table.add(agreement_row(f"labels on the {name} ({total} images; goal >= 99.5 %)", agree, total))
        if margins:
            table.notes.append(f"{name}: {total - agree} disagreements, {margins_note(margins)}")
    int8 = ckpt.metrics.get("int8")
    if int8 and quantize.supported():
        # int8 (slic classify --precision int8) with the scales the checkpoint stores, from training images
        for name, idx in (("validation split", val), ("whole dataset", np.arange(len(data)))):
            ref = logits(model, data.images[idx], 64, "cpu", "float32")
            got = logits(quantize.quantize(copy.deepcopy(model), int8), data.images[idx], 64, "cpu", "float32")
            a, b = ref.argmax(1), got.argmax(1)
            top2 = torch.softmax(ref, 1).topk(2, 1).values
            table.add(Row(f"int8 labels on the {name} ({len(a)} images)", "float32", "int8 (agreeing %)", 100.0,
                          100.0 * float((a == b).float().mean()), unit="%", higher_is_better=True))
            if (a != b).any():
                table.notes.append(f"int8, {name}: {int((a != b).sum())} disagreements, "
                                   f"{margins_note((top2[:, 0] - top2[:, 1])[a != b].tolist())}")
        table.notes.append(f"int8 scales stored in the checkpoint (by 'slic calibrate', or make paper's calibration) from {int8['n_images']} training images")
    else:
        table.notes.append("no int8 row: the checkpoint has no int8 scales ('slic calibrate' stores them) or this CPU no int8 engine")
    print(table.render())
    return table


if __name__ == "__main__":
    main()
