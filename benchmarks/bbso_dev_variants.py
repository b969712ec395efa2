"""Issue 12's variant search: simulator and training variants, several draws each, scored on the BBSO DEVELOPMENT days only.

Where ``bbso_dev_days.py`` scores one configuration, this runs many side by side (one process
per variant and seed, ``--lanes`` at a time) and appends one JSON line per model to
``OUT/results.jsonl``: the variant, seed, rate, simulated validation accuracy, five-way
accuracy on the development days, filament and quiet-Sun counts, and every crop's P(true
class). It ran on a lent GPU (an H200, 16 cores) as well as on this machine; a GPU's
trainings differ from the CPU's in rounding, random streams and precision, so compare
variants only within one machine.

A variant is ``+``-joined names from :data:`PATCHES` (simulator changes, made in memory by
replacing a line of the simulator's source in the worker's copy of the module; nothing on
disk changes) and :data:`TRAIN` (profile overrides). ``base`` is the simulator as committed.

    python benchmarks/bbso_dev_variants.py crops .devcrops.pkl          # where the BBSO package is installed
    python benchmarks/bbso_dev_variants.py all OUT 4 .devcrops.pkl base thin mottles in128

    python benchmarks/bbso_dev_variants.py predictors .devcrops.pkl /tmp/bbso_dev/*/data   # see predictors()

The development-day crops are pickled first (``crops``), so that a machine without the BBSO
package (or a network) can score them; only the development days are written, never the
held-out ones. Each (variant, seed) trains the cpu profile's rates 3e-3 and 1e-3 in
``/tmp/bbso_dev_variants/<variant>_s<seed>`` (delete it to start again: a finished sweep there
is reused).
"""

from __future__ import annotations

import inspect
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

_FILAMENT = '        if class_name == "filaments":\n            image *= _filament_factor(rng, size, cdelt)\n'
PATCHES = {
    # filaments down to 2" wide (the real thin filaments of the development days), not 4"
    "thin": [("_filament_factor", "halfw = min(rng.uniform(2.0, 6.0),", "halfw = min(rng.uniform(1.0, 6.0),")],
    # filaments at least half the field and 25" long: never stubby
    "long": [("_filament_factor", "length = max(rng.uniform(0.3, 1.1) * fov * scale, 12.0)",
              "length = max(rng.uniform(0.5, 1.1) * fov * scale, 25.0)")],
    # 40 % of quiet-Sun scenes get 1-3 compact dark mottles (3-9" long, 10-25 % deep)
    "mottles": [("sot_scene", _FILAMENT, '        if class_name == "quiet" and rng.random() < 0.4:\n'
                 "            image *= _dark_mottles(rng, size, cdelt)\n" + _FILAMENT)],
    # the same, larger and deeper (4-12" long, 15-35 % deep)
    "mottles2": [("sot_scene", _FILAMENT, '        if class_name == "quiet" and rng.random() < 0.4:\n'
                  "            image *= _dark_mottles(rng, size, cdelt, 0.15, 0.35, 2.0, 6.0)\n" + _FILAMENT)],
    # filament scenes with the active regions' stronger fibrils
    "filfib": [("sot_scene", "* (1.2 if active else 1.0)", '* (1.2 if class_name != "quiet" else 1.0)')],
}
TRAIN = {
    "pc1200": {"per_class": 1200},  # twice the simulated images
    "ep30": {"epochs": 30},
    "in96": {"input_size": 96},
    "in128": {"input_size": 128},  # the BBSO crops' own 128 pixels
    "tiny": {"per_class": 24, "epochs": 1},  # to try the script
}


def _dark_mottles(rng, size, cdelt, d0=0.1, d1=0.25, a0=1.5, a1=4.5):
    """1-3 compact dark mottles: Gaussian ellipses ``2 a0-a1`` by 2-4" (semi-axes in arcsec), ``d0-d1`` deep."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    f = np.ones((size, size), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        cx, cy = rng.uniform(0.1, 0.9, 2) * size
        a, b, th = rng.uniform(a0, a1) / cdelt, rng.uniform(1.0, 2.0) / cdelt, rng.uniform(0, np.pi)
        u = (x - cx) * np.cos(th) + (y - cy) * np.sin(th)
        v = -(x - cx) * np.sin(th) + (y - cy) * np.cos(th)
        f *= 1 - rng.uniform(d0, d1) * np.exp(-0.5 * ((u / a) ** 2 + (v / b) ** 2))
    return f


def apply(variant: str) -> dict:
    """Patch the simulator for ``variant`` (in this process) and return its profile overrides."""
    from slic_lib.synthetic import sequences, sot

    sot._dark_mottles = _dark_mottles
    overrides, edits = {}, {}
    for part in variant.split("+"):
        if part == "base":
            continue
        if part in TRAIN:
            overrides.update(TRAIN[part])
            continue
        for fn, old, new in PATCHES[part]:
            edits.setdefault(fn, []).append((old, new))
    for fn, replacements in edits.items():
        src = inspect.getsource(getattr(sot, fn))
        for old, new in replacements:
            if old not in src:
                sys.exit(f"variant {variant!r}: the simulator's {fn} no longer has the line {old.strip()!r}")
            src = src.replace(old, new)
        exec(compile(src, sot.__file__, "exec"), sot.__dict__)
    sequences.sot_scene = sot.sot_scene  # it imported its own reference
    return overrides


def dev_crops(path: str) -> None:
    """Pickle the BBSO crops of the development days (crop positions of seed 0, as the harness scores them)."""
    from slic_lib.profiles import get_profile
    from slic_lib.realdata import bbso
    from slic_lib.realdata.bbso_dataset import TEST_DAYS

    t = get_profile("cpu").transfer
    crops = [c for c in bbso.crops(size=t.crop_size, quiet_per_image=t.quiet_per_image, rng=0) if c.day not in TEST_DAYS]
    Path(path).write_bytes(pickle.dumps(crops))
    print(f"{len(crops)} crops of the development days {sorted({c.day for c in crops})} -> {path}")


def one(out: str, crops_path: str, variant: str, seed: int) -> None:
    """Simulate, train the rates 3e-3 and 1e-3 and score one (variant, seed) on the development days."""
    root = Path("/tmp/bbso_dev_variants") / f"{variant}_s{seed}"
    os.environ["SLIC_DATA"], os.environ["SLIC_FIGURES"] = str(root / "data"), str(root / "figures")
    overrides = apply(variant)
    from sklearn.metrics import confusion_matrix

    from slic_lib import experiments
    from slic_lib.experiments.run import Run
    from slic_lib.inference import predict_proba
    from slic_lib.model import load_checkpoint
    from slic_lib.profiles import get_profile
    from slic_lib.realdata.bbso_dataset import crop_set
    from slic_lib.splits import split

    run = Run(get_profile("cpu", seed=seed, learning_rates=(3e-3, 1e-3), **overrides), "simulator")
    t0 = time.time()
    data = experiments.curation.curate(run, progress=False).data
    t1 = time.time()
    experiments.training.train_sweep(run, progress=False)
    t2 = time.time()
    _, val = split(data, run.profile.split, 0.1, run.profile.seed)
    crops = pickle.loads(Path(crops_path).read_bytes())
    names = list(data.class_names)
    fil, quiet = names.index("filaments"), names.index("quiet")
    with open(Path(out) / "results.jsonl", "a") as f:
        for lr_dir in sorted(Path(run.models, "sweep").glob("lr_*")):
            model = load_checkpoint(lr_dir / "best.pt")
            real = crop_set(crops, model).data
            p = predict_proba(model, real.images)
            cm = confusion_matrix(real.labels, p.argmax(1), labels=range(len(names)))
            row = dict(variant=variant, seed=seed, lr=lr_dir.name,
                       sim_val=float(np.mean(predict_proba(model, data.images[val]).argmax(1) == data.labels[val])),
                       dev=float(np.mean(p.argmax(1) == real.labels)), fil=int(cm[fil, fil]), n_fil=int(cm[fil].sum()),
                       quiet=int(cm[quiet, quiet]), n_quiet=int(cm[quiet].sum()),
                       p_true=np.round(p[np.arange(len(real.labels)), real.labels], 3).tolist(), t_sim=round(t1 - t0), t_train=round(t2 - t1))
            print(json.dumps({k: v for k, v in row.items() if k != "p_true"}), flush=True)
            f.write(json.dumps(row) + "\n")


def all_(out: str, lanes: int, crops_path: str, variants: list[str]) -> None:
    """Every variant at seeds 0 and 1, ``lanes`` processes at a time; each one's output in ``OUT/log_<variant>_s<seed>.txt``."""
    jobs = [(v, s) for v in variants for s in (0, 1)]
    env = dict(os.environ, OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // lanes)), PYTHONUNBUFFERED="1")
    running: list[subprocess.Popen] = []
    while jobs or running:
        while jobs and len(running) < lanes:
            v, s = jobs.pop(0)
            log = open(Path(out) / f"log_{v.replace('+', '-')}_s{s}.txt", "w")
            running.append(subprocess.Popen([sys.executable, __file__, "one", out, crops_path, v, str(s)], stdout=log,
                                            stderr=subprocess.STDOUT, env=env))
        time.sleep(2)
        running = [p for p in running if p.poll() is None]


def predictors(crops_path: str, folders: list[str]) -> None:
    """Does a statistic on simulated images alone predict a model's development-day accuracy?

    For every ``sweep/lr_*/best.pt`` under the folders (each a run's ``SLIC_DATA`` with its
    dataset), against the development-day accuracy and ROC AUC: the clean simulated validation
    accuracy and loss, and the accuracy on the validation images re-observed by the cpu
    profile's domain randomisation (4 fixed draws); Spearman correlations over the models.
    """
    import glob

    import torch
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    from slic_lib.augment import preset, randomise_batch
    from slic_lib.baseline import filament_score
    from slic_lib.dataset import load_dataset
    from slic_lib.inference import predict_proba
    from slic_lib.model import load_checkpoint, read_checkpoint
    from slic_lib.realdata.bbso_dataset import crop_set
    from slic_lib.splits import split

    crops = pickle.loads(Path(crops_path).read_bytes())
    rows = []
    for folder in folders:
        datasets = glob.glob(f"{folder}/*/dataset.h5")
        if not datasets:
            continue
        data = load_dataset(datasets[0])
        for path in sorted(glob.glob(f"{folder}/models/*/sweep/lr_*/best.pt")):
            model, config = load_checkpoint(path), read_checkpoint(path).train_config
            _, val = split(data, config["split"], config["val_fraction"], config["seed"])
            x, y = data.images[val], data.labels[val]
            p = predict_proba(model, x)
            units = "relative" if model.preprocessing.mode == "relative" else "standard"
            randomised = [np.mean(predict_proba(model, randomise_batch(torch.as_tensor(x[:, None]), torch.Generator().manual_seed(1000 + r),
                                                                       preset("full"), units).numpy()).argmax(1) == y) for r in range(4)]
            real = crop_set(crops, model).data
            pr = predict_proba(model, real.images)
            names = list(real.class_names)
            rows.append([np.mean(p.argmax(1) == y), -np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-9, 1))), np.mean(randomised),
                         np.mean(pr.argmax(1) == real.labels), roc_auc_score(real.labels == names.index("filaments"), filament_score(pr, names))])
            print(path, " ".join(f"{v:.3f}" for v in rows[-1]), flush=True)
    a = np.array(rows)
    for k, name in enumerate(("simulated validation accuracy", "simulated validation loss", "randomised validation accuracy")):
        print(f"{name}: Spearman with development-day accuracy {spearmanr(a[:, k], a[:, 3])[0]:+.2f}, "
              f"with development-day AUC {spearmanr(a[:, k], a[:, 4])[0]:+.2f} ({len(a)} models)")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    Path(sys.argv[2]).parent.mkdir(parents=True, exist_ok=True)
    if sys.argv[1] == "crops":
        dev_crops(sys.argv[2])
    elif sys.argv[1] == "predictors":
        predictors(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "one":
        one(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        Path(sys.argv[2]).mkdir(parents=True, exist_ok=True)
        all_(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:])
