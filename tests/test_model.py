"""The network's shapes, the published checkpoint layout, and safe atomic checkpoints."""

import os
from pathlib import Path

import pytest
import torch

from slic_lib.errors import SlicError
from slic_lib.model import (
    Checkpoint,
    ModelConfig,
    SlicNet,
    load_checkpoint,
    model_from_checkpoint,
    n_parameters,
    read_checkpoint,
    save_checkpoint,
)
from slic_lib.preprocess import PreprocessConfig


@pytest.mark.parametrize("arch", ["slic", "vgg13"])
@pytest.mark.parametrize("size", [32, 64, 96])
def test_output_shape_at_several_input_sizes(arch, size):
    model = SlicNet(arch=arch, input_size=size, width=0.125, hidden=16).eval()
    assert model(torch.randn(3, 1, size, size)).shape == (3, 5)
    assert model.features(torch.randn(1, 1, size, size)).shape[-1] == size // 32


def test_slic_variant_is_the_published_topology():
    model = SlicNet(arch="slic", input_size=256)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    names = [n for n, _ in model.stages()]
    assert names.count("layer8") == 3 and names.count("max_pool") == 5
    assert model.classifier[0].in_features == 512 * 8 * 8 and model.classifier[0].out_features == 4096
    linear_idx = [i for i, m in enumerate(model.classifier) if isinstance(m, torch.nn.Linear)]
    assert linear_idx == [0, 3, 6]
    assert [type(m).__name__ for m in model.layer3] == ["Conv2d", "BatchNorm2d", "ReLU"]


def test_vgg13_has_ten_distinct_convolutions():
    model = SlicNet(arch="vgg13", input_size=64, width=0.25, hidden=16)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 10 and len({id(c) for c in convs}) == 10
    assert len({n for n, _ in model.stages() if n != "max_pool"}) == 10


def test_classifier_input_follows_size_and_width():
    cfg = ModelConfig(input_size=128, width=0.5)
    assert SlicNet(cfg).classifier[0].in_features == 256 * 4 * 4 == cfg.feature_size


def test_bad_config_is_refused():
    with pytest.raises(SlicError, match="multiple of 32"):  # a user's --size: one sentence, no traceback
        ModelConfig(input_size=100)
    with pytest.raises(ValueError, match="unknown architecture"):
        ModelConfig(arch="resnet")
    with pytest.raises(SlicError, match="width must be > 0"):
        ModelConfig(width=0)


def test_he_initialisation():
    torch.manual_seed(0)
    model = SlicNet(arch="slic", input_size=32, width=0.5, hidden=512)
    w = model.classifier[3].weight  # fan_in 512 -> std sqrt(2/512)
    assert abs(w.std().item() - (2 / 512) ** 0.5) < 0.005
    assert torch.all(model.classifier[3].bias == 0)


def test_published_state_dict_reloads_strictly_with_identical_outputs(tmp_path):
    torch.manual_seed(1)
    model = SlicNet(arch="slic", input_size=64, width=0.125, hidden=32).eval()
    path = tmp_path / "sol_class_4.pth"
    torch.save(model.state_dict(), path)  # a bare state_dict, as the Slic release ships it
    loaded = load_checkpoint(path)
    assert not loaded.training
    assert loaded.config == model.config
    assert loaded.preprocessing == PreprocessConfig(size=64, mode="slic-npz")
    x = torch.randn(4, 1, 64, 64)
    assert torch.equal(model(x), loaded(x))


def test_full_size_published_layout_keys_match():
    # the key names and shapes sol_class_4.pth has (a 256x256 input, full width)
    sd = SlicNet(arch="slic", input_size=256).state_dict()
    assert sd["classifier.0.weight"].shape == (4096, 32768)
    assert sd["classifier.6.weight"].shape == (5, 4096)
    assert sum(k.endswith(".0.weight") for k in sd if k.startswith("layer")) == 8


def _checkpoint(model):
    return Checkpoint(model.state_dict(), model.config, PreprocessConfig(size=model.config.input_size), metrics={"val_accuracy": 0.5}, epoch=3)


def test_project_checkpoint_round_trip(tmp_path):
    model = SlicNet(arch="vgg13", input_size=32, width=0.125, hidden=16).eval()
    path = save_checkpoint(_checkpoint(model), tmp_path / "m.pt")
    ckpt = read_checkpoint(path)
    assert ckpt.epoch == 3 and ckpt.metrics["val_accuracy"] == 0.5 and ckpt.model_config.arch == "vgg13"
    loaded = load_checkpoint(path)
    x = torch.randn(2, 1, 32, 32)
    assert torch.equal(model(x), loaded(x))
    assert loaded.class_names[0] == "filaments"


def test_mapped_and_shared_loading_gives_the_same_network(tmp_path):
    """``slic classify``'s way (mmap, the checkpoint's own tensors) and the copying way agree."""
    model = SlicNet(arch="slic", input_size=32, width=0.125, hidden=16)
    with torch.no_grad():  # BatchNorm statistics other than the initial ones, so a lost buffer shows
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1), m.running_var.uniform_(0.5, 2)
    path = save_checkpoint(_checkpoint(model.eval()), tmp_path / "m.pt")
    x = torch.randn(2, 1, 32, 32)
    mapped = read_checkpoint(path, mmap=True)
    shared = model_from_checkpoint(mapped, copy=False)
    copied_ckpt = read_checkpoint(path)
    copied = model_from_checkpoint(copied_ckpt)
    assert torch.equal(shared(x), model(x)) and torch.equal(copied(x), model(x))
    assert not shared.training and not copied.training
    # copy=False uses the checkpoint's tensors; copy=True owns its own
    assert shared.layer1[0].weight.data_ptr() == mapped.state_dict["layer1.0.weight"].data_ptr()
    assert copied.layer1[0].weight.data_ptr() != copied_ckpt.state_dict["layer1.0.weight"].data_ptr()
    assert all(not p.is_meta for p in [*shared.parameters(), *shared.buffers(), *copied.parameters(), *copied.buffers()])


class Payload:
    """Unpickling this would run code: it must never happen."""

    def __reduce__(self):
        return (Path("/tmp/slic-pwned").touch, ())


def test_pickle_payload_is_refused_and_never_runs(tmp_path):
    marker = Path("/tmp/slic-pwned")
    marker.unlink(missing_ok=True)
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "evil": Payload()}, path)
    with pytest.raises(SlicError, match="refusing"):
        load_checkpoint(path)
    assert not marker.exists()


def test_damaged_or_missing_checkpoint_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(SlicError, match="cannot read"):
        load_checkpoint(bad)
    with pytest.raises(SlicError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "best.pt").write_bytes(b"")
    with pytest.raises(SlicError, match=r"is a folder, not a checkpoint file \(did you mean .*best.pt\?\)"):
        load_checkpoint(tmp_path / "run")


def test_atomic_write_keeps_previous_checkpoint_on_crash(tmp_path, monkeypatch):
    model = SlicNet(arch="slic", input_size=32, width=0.125, hidden=16)
    path = save_checkpoint(_checkpoint(model), tmp_path / "last.pt")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(_checkpoint(model), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary file left


def test_parameter_count_of_the_paper_network():
    # ~155.7 M: conv 9.4 M + classifier 134 M + 0.05 M (BN etc.), dominated by the 32768x4096 layer
    assert 150e6 < n_parameters(SlicNet(arch="slic", input_size=256)) < 160e6


def test_checkpoints_and_result_files_are_readable_by_the_group(tmp_path, monkeypatch):
    # tempfile.mkstemp makes 0600 files; a rename kept that, hiding results from a shared group
    from slic_lib import results

    monkeypatch.setenv("SLIC_DATA", str(tmp_path))
    old = os.umask(0o002)
    try:
        ckpt = save_checkpoint(_checkpoint(SlicNet(arch="slic", input_size=32, width=0.125, hidden=16)), tmp_path / "m.pt")
        table = results.write_json("smoke", "x", {"a": 1})
    finally:
        os.umask(old)
    assert oct(ckpt.stat().st_mode & 0o777) == oct(0o664) and oct(table.stat().st_mode & 0o777) == oct(0o664)
