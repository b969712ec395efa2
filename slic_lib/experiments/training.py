"""Notebook 02: the learning-rate sweep of section 4.1 and the selected model."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import torch

from .. import ood, results, summary
from ..dataset import SolarData, load_dataset
from ..splits import split
from ..inference import cpu_threads, predict_proba
from ..model import ModelConfig, SlicNet, load_checkpoint, n_parameters, read_checkpoint
from ..plots.architecture import architecture_table, plot_architecture
from ..plots.training import plot_lr_sweep
from ..sweep import sweep
from ..train import TrainConfig, resumable
from .run import Run


def model_config(run: Run, data: SolarData) -> ModelConfig:
    """The profile's network for this data (the published network on the published data)."""
    p = run.profile
    size = data.images.shape[-1]
    if run.data_source == "slic-release":
        return ModelConfig(arch="slic", input_size=size)
    return ModelConfig(arch=p.arch, input_size=size, width=p.width, hidden=p.hidden, n_classes=len(data.class_names))


def train_config(run: Run, data: SolarData) -> TrainConfig:
    """The profile's optimisation settings; the split that came with the data, if any."""
    p = run.profile
    split_kind = "fixed" if data.fixed_val is not None else p.split
    return TrainConfig(epochs=p.epochs, batch_size=p.batch_size, seed=p.seed, split=split_kind, augment=p.augment, randomise=p.randomise,
                       label_smoothing=p.label_smoothing, cpu_amp=p.cpu_amp, ema=p.ema, schedule=p.schedule)


def train_sweep(run: Run, progress: bool = True):
    """Train every learning rate of the profile; copy the selected model to ``best.pt``.

    Stores the sweep's history, the selection and, as a baseline, the validation accuracy of
    the same network untrained (its He initialisation), so a notebook can check that
    training learned something.
    """
    data = load_dataset(run.require_dataset())
    config = train_config(run, data)
    folder = run.models / "sweep"
    # resume an interrupted sweep, never one trained on an older dataset file or with other settings
    mc = model_config(run, data)
    started = [(folder / f"lr_{lr:g}", replace(config, lr=lr)) for lr in run.profile.learning_rates]
    resume = all(run.newer_than_dataset(out / "last.pt") and resumable(out, mc, cfg, data.preprocessing)
                 for out, cfg in started if (out / "last.pt").exists())
    with cpu_threads(run.profile.threads):
        result = sweep(data, mc, config, run.profile.learning_rates, folder, resume=resume, progress=progress,
                       workers=run.profile.workers)
    shutil.copyfile(result.best_path, run.best_model)
    train_idx, val = split(data, config.split, config.val_fraction, config.seed)
    # calibrate the selected model on its own validation split, so 'slic classify' gives calibrated
    # confidences and flags images unlike its training data (slic_lib.ood)
    # and the int8 scales 'slic classify --precision int8' applies (slic_lib.quantize)
    with cpu_threads(run.profile.threads):
        best = load_checkpoint(run.best_model)
        ood.store(run.best_model, ood.calibrate(best, data.images[val], data.labels[val], data.images[train_idx], data.labels[train_idx]),
                  ood.calibrate_int8(best, data.images[train_idx], data.images[val]))
    with torch.random.fork_rng():  # leave the global random state as training left it
        torch.manual_seed(config.seed)
        untrained = SlicNet(read_checkpoint(run.best_model).model_config)
    untrained_acc = float(np.mean(predict_proba(untrained, data.images[val]).argmax(1) == data.labels[val]))
    results.write_table(run.name, "lr_sweep", result.history())
    selection = {
        "best_learning_rate": result.best_lr,
        "best_epoch": result.best_epoch,
        "sweep_best_validation_accuracy": result.best_val_accuracy,
        "untrained_validation_accuracy": untrained_acc,
        "chance": 1 / len(data.class_names),
        "learning_rates": list(run.profile.learning_rates),
        "epochs": run.profile.epochs,
    }
    results.write_json(run.name, "lr_sweep", selection)
    model = load_checkpoint(run.best_model)
    with torch.random.fork_rng():
        paper_net = SlicNet(arch="slic", input_size=256)
    results.write_table(run.name, "architecture_trained", architecture_table(model))
    results.write_table(run.name, "architecture_paper", architecture_table(paper_net))
    results.write_json(run.name, "architecture", {"trained": n_parameters(model), "paper": n_parameters(paper_net)})
    summary.update(run.name, **{k: v for k, v in selection.items() if k != "chance"}, model=model.config.__dict__)
    return result


def figures(run: Run) -> list:
    """Draw notebook 02's figures and tables from its result files."""
    history = results.read_table(run.name, "lr_sweep")
    sel = results.read_json(run.name, "lr_sweep")
    n_params = results.read_json(run.name, "architecture")
    run.table(history, "lr_sweep", "Validation accuracy per epoch for each learning rate (section 4.1)")
    figs = [
        plot_lr_sweep(history, synthetic=run.synthetic, selected=(sel["best_learning_rate"], sel["best_epoch"]),
                      title="Section 4.1: validation accuracy per epoch for each learning rate"),
        plot_architecture(results.read_table(run.name, "architecture_paper"),
                          title=f"The paper's network ({n_params['paper'] / 1e6:.1f} M parameters)"),
        plot_architecture(results.read_table(run.name, "architecture_trained"), synthetic=run.synthetic,
                          title=f"The network trained here ({n_params['trained'] / 1e6:.2f} M parameters)"),
    ]
    for fig, name in zip(figs, ("fig_lr_sweep", "fig1_fig2_architecture_paper", "fig1_fig2_architecture_trained")):
        run.save(fig, name)
    return figs
