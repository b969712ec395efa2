"""How far is the simulated H-alpha from real H-alpha? A table of slic_lib.realism statistics.

Renders ``--n`` simulated Hinode/SOT H-alpha images per class (filaments and quiet Sun, seed
``--seed``, ``--size`` pixels) with :func:`slic_lib.synthetic.render_sot`, brings them to BBSO's
common scale (1"/px, 2" resolution, :func:`slic_lib.realism.to_common_scale`) and compares
them with the real BBSO full-disc H-alpha crops of :func:`slic_lib.realdata.bbso.crops`
(filaments cut around the expert outlines, quiet Sun away from them) through
:func:`slic_lib.realism.simulator_vs_bbso`, the same comparison notebook 01 stores. Each cell
is ``simulated / real`` (median over images), except ``intensity_wasserstein``: the distance
between the two sets' pooled pixels. The real filaments' feature contrast is measured inside
the expert outlines (the simulated ones' inside a thresholded mask). The last row gives the
spread of the real data itself: each BBSO day against the other days (intensity Wasserstein).

Usage (about 30 s on one core)::

    python benchmarks/realism_report.py --n 40 --seed 0 --size 512 --crop 128

Needs the real data: ``pip install --no-deps filament-augmentation-engine``. Not a test: it
measures the simulator, it does not judge it.
"""

from __future__ import annotations

import argparse

from slic_lib import realism

CLASSES = ("filaments", "quiet")
ROWS = ("intensity_wasserstein", "rms_contrast", "p01", "p99", "spectral_slope", "feature_contrast")


def report(n: int, seed: int, size: int, crop: int = 128) -> str:
    """The table as text; ``crop`` is the side of the real crops in BBSO pixels (about 1")."""
    checks = realism.simulator_vs_bbso(n_per_class=n, seed=seed, size=size, crop=crop)
    tables = {name: checks[name]["table"] for name in CLASSES}
    lines = [
        f"Simulated (render_sot, {n} per class, seed {seed}, {size} px) vs real BBSO crops at "
        f'{realism.COMMON_SCALE:g}"/px, {realism.COMMON_RESOLUTION:g}" resolution; simulated / real, '
        "median over images",
        f"(real crops: {crop} px, filaments cut around each expert outline; the real filaments' "
        "feature contrast is measured inside those outlines)",
        f"{'':<30}" + "".join(f"{name:>20}" for name in CLASSES),
        f"{'images':<30}" + "".join(
            f"{int(tables[c].loc['images', 'simulated'])} / {int(tables[c].loc['images', 'real'])}".rjust(20)
            for c in CLASSES
        ),
    ]
    for row in ROWS:
        cells = []
        for name in CLASSES:
            t = tables[name].loc[row]
            cells.append(f"{t['distance']:.3f}" if row == "intensity_wasserstein" else f"{t['simulated']:.3f} / {t['real']:.3f}")
        lines.append(f"{row:<30}" + "".join(c.rjust(20) for c in cells))
    lines.append(
        f"{'real day vs other days (W)':<30}"
        + "".join(f"{checks[c]['real_day_spread'][0]:.3f}-{checks[c]['real_day_spread'][1]:.3f}".rjust(20) for c in CLASSES)
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="simulated images per class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=512, help="side of the simulated images in pixels")
    parser.add_argument("--crop", type=int, default=128,
                        help="side of the real BBSO crops in pixels (the simulated 50-200\" fields are 50-200 px)")
    args = parser.parse_args()
    print(report(args.n, args.seed, args.size, args.crop))


if __name__ == "__main__":
    main()
