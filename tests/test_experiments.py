"""The paper's analysis on the published Slic release path, offline, with a fake release.

The release cannot be downloaded here; files in its exact layout (npz rows of a label and a
flattened square image in 0..255; a bare state_dict in the published key layout) are put
where ``slic fetch`` keeps them, which ``fetch`` accepts and records in its manifest.
"""

import numpy as np
import pytest
import torch

from slic_lib.model import SlicNet


@pytest.fixture()
def fake_release(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    import slic_lib.experiments
    rel = tmp_path / "data" / "slic-release"
    rel.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, n in (("solar_train_data.npz", 20), ("solar_test_data.npz", 10)):
        labels = np.arange(n) % 5
        images = rng.integers(0, 256, (n, 64 * 64))
        np.savez_compressed(rel / name, data=np.concatenate([labels[:, None], images], axis=1))
    torch.manual_seed(0)
    torch.save(SlicNet(arch="slic", input_size=64, width=0.125, hidden=32).state_dict(), rel / "sol_class_4.pth")
    yield slic_lib.experiments


def test_release_path_gives_the_published_table_1(fake_release):
    experiments = fake_release
    run = experiments.start("smoke", "slic-release")
    data = experiments.curation.curate(run, progress=False).data
    assert len(data) == 30 and int(data.fixed_val.sum()) == 10 and not data.is_synthetic
    ev = experiments.validation.published_validation(run, progress=False)
    assert ev.report.n == 10  # exactly the released validation file
    np.testing.assert_array_equal(np.sort(ev.indices), np.arange(20, 30))
    from slic_lib import summary

    s = summary.read("smoke")
    assert s["published"]["n"] == 10 and s["data_source"] == "slic-release" and s["synthetic_data"] is False
    assert not (run.figures / "table1_published_confusion_matrix.md").exists()
    # the figures are drawn from the stored results alone
    figs = experiments.validation._evaluation_figures(run, "validation_published", "table1_published", "Table 1 of sol_class_4.pth", False)
    assert len(figs) == 1 and (run.figures / "table1_published_confusion_matrix.md").exists()
    assert "Table 1 of sol_class_4.pth" in (run.figures / "table1_published_confusion_matrix.md").read_text()


def test_other_sources_skip_the_published_evaluation(fake_release):
    run = fake_release.start("smoke", "simulator")
    assert fake_release.validation.published_validation(run) is None
