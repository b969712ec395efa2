"""Issue 12's tuning harness: a profile's simulated data and sweep, scored on the BBSO DEVELOPMENT days only.

Simulates and builds the profile's dataset (``cpu`` unless told), trains its learning rates
(or those given), and prints, per learning rate, the kept epoch, the simulated validation
accuracy with its confusions, and the five-way accuracy on the real BBSO crops of the
development days (2015-08-01, 08-05) with the ROC AUC of its filament score
(:func:`slic_lib.baseline.filament_score`), beside the dark-pixel rule chosen on the same days and the AUC of its dark share.
The held-out days (2015-08-07, 08-09) are never scored here: they are reported by notebook 06
alone, so that choices made with this script do not leak into the headline result.

    python benchmarks/bbso_dev_days.py NAME '{"preprocessing": "relative", "learning_rates": [3e-3, 1e-3]}'

``"crop_seed": 0`` scores a draw of another ``seed`` on the same real crops as seed 0 (the
quiet-Sun crop positions follow the seed). Everything goes to ``/tmp/bbso_dev/NAME`` (its own ``SLIC_DATA`` and ``SLIC_FIGURES``).
Two learning rates of the cpu profile (18 epochs, side by side) take about 3.5 minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    if not argv or argv[0].startswith("-"):  # no NAME, or --help: the usage, not a run named "--help"
        sys.exit(__doc__)
    name = argv[0]
    overrides = json.loads(argv[1]) if len(argv) > 1 else {}
    root = Path("/tmp/bbso_dev") / name
    os.environ["SLIC_DATA"], os.environ["SLIC_FIGURES"] = str(root / "data"), str(root / "figures")

    import numpy as np
    from sklearn.metrics import confusion_matrix, roc_auc_score

    from slic_lib import experiments
    from slic_lib.baseline import DarkPixelRule, dev_test_baseline, filament_score
    from slic_lib.experiments.run import Run
    from slic_lib.inference import predict_proba
    from slic_lib.model import load_checkpoint
    from slic_lib.profiles import get_profile
    from slic_lib.realdata.bbso_dataset import load_bbso
    from slic_lib.splits import split

    if "learning_rates" in overrides:
        overrides["learning_rates"] = tuple(overrides["learning_rates"])
    crop_seed = overrides.pop("crop_seed", None)  # score on the quiet-Sun crop positions of another seed
    run = Run(get_profile(overrides.pop("profile", "cpu"), **overrides), "simulator")
    t0 = time.time()
    data = experiments.curation.curate(run, progress=False).data
    t1 = time.time()
    sweep = experiments.training.train_sweep(run, progress=False)
    print(f"{name} {overrides}: simulated in {t1 - t0:.0f} s, trained in {time.time() - t1:.0f} s; "
          f"selected lr {sweep.best_lr:g} epoch {sweep.best_epoch} (simulated validation {sweep.best_val_accuracy:.3f})")

    _, val = split(data, run.profile.split, 0.1, run.profile.seed)
    crops, dev = None, None
    names = list(data.class_names)
    for lr_dir in sorted(Path(run.models, "sweep").glob("lr_*")):
        model = load_checkpoint(lr_dir / "best.pt")
        if crops is None:
            crops = load_bbso(model, run.profile.transfer.crop_size, run.profile.transfer.quiet_per_image,
                              seed=run.profile.seed if crop_seed is None else crop_seed)
            dev, _ = crops.split()
        sim = predict_proba(model, data.images[val]).argmax(1)
        cm_sim = confusion_matrix(data.labels[val], sim, labels=range(len(names)))
        wrong_sim = {f"{names[i]}->{names[j]}": int(v) for (i, j), v in np.ndenumerate(cm_sim) if i != j and v}
        probs = predict_proba(model, crops.data.images[dev])
        real, truth = probs.argmax(1), crops.data.labels[dev]
        cm = confusion_matrix(truth, real, labels=range(len(names)))
        rows = {names[k]: dict(zip(names, cm[k].tolist())) for k in sorted(set(truth.tolist()))}
        auc = roc_auc_score(truth == names.index("filaments"), filament_score(probs, names))
        print(f"  {lr_dir.name}: simulated validation {np.mean(sim == data.labels[val]):.3f} {wrong_sim or ''}; "
              f"development days {np.mean(real == truth):.3f} {rows}, ROC AUC of its filament score {auc:.3f}")
    is_dev = np.isin(np.arange(len(crops.data)), dev)
    rule = dev_test_baseline([c.data for c in crops.crops], [c.label for c in crops.crops], is_dev)
    shares = DarkPixelRule(**rule["rule"]).features([crops.crops[i].data for i in dev])
    print(f"  dark-pixel rule on the development days: {rule['dev_days']['accuracy']:.3f} ({rule['rule']}), "
          f"ROC AUC of its dark share {roc_auc_score(crops.data.labels[dev] == names.index('filaments'), shares):.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
