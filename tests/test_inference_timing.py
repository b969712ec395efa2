"""Notebook 03's timing table: this run's network and the paper's full-size one, in float32 and the auto precision, the paper's rows once."""

import numpy as np
import torch

from slic_lib import experiments, paper
from slic_lib.classes import CLASSES
from slic_lib.dataset import SolarData, save_dataset
from slic_lib.inference import resolve_precision
from slic_lib.model import Checkpoint, SlicNet, save_checkpoint
from slic_lib.preprocess import PreprocessConfig
from slic_lib import results

from conftest import TINY


def test_timing_table_has_both_networks_in_both_precisions_int8_for_the_full_size_and_the_paper_once(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    run = experiments.start("smoke", "simulator", "simulator")
    torch.manual_seed(0)
    net = SlicNet(**TINY)
    run.best_model.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(Checkpoint(net.state_dict(), net.config, net.preprocessing, net.class_names), run.best_model)
    images = np.random.default_rng(0).normal(size=(10, 32, 32)).astype(np.float32)
    save_dataset(SolarData.from_arrays(images, np.arange(10) % 5, CLASSES, PreprocessConfig(size=32)), run.dataset_path)
    results.write_arrays(run.name, "validation", indices=np.arange(6))
    # a stand-in for the 256px network, so the test takes seconds; its label says what it is
    small_full = SlicNet(arch="slic", input_size=64, width=0.125, hidden=32)
    monkeypatch.setattr(experiments.validation, "full_size_network", lambda run: (small_full, "stand-in full-size"))

    table = experiments.validation.inference_timing(run)
    mine = table[table.source == "this run"]
    auto = resolve_precision("auto", "cpu")
    expected = {"float32", auto}
    assert set(mine[mine.model == "slic 32px width 0.125"].precision) == expected
    # the full-size network also in int8 where PyTorch has the CPU engine; the run's own small one not
    from slic_lib import quantize

    assert set(mine[mine.model == "stand-in full-size"].precision) == expected | ({"int8"} if quantize.supported() else set())
    assert (mine.n_images[mine.model == "stand-in full-size"] == experiments.validation.FULL_SIZE_IMAGES_PER_REPEAT).all()
    assert (mine.seconds > 0).all() and mine.device.str.contains("thread").all()
    assert (table.source == "paper").sum() == 2
    np.testing.assert_allclose(table.seconds_per_1318, table.seconds_per_image * paper.N_VALIDATION)
