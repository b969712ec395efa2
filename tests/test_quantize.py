"""int8 inference: calibration, stored scales, `slic calibrate` and `slic classify --precision int8`."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from slic_lib import quantize
from slic_lib.classify import classify_files
from slic_lib.cli import main
from slic_lib.errors import SlicError
from slic_lib.inference import fold_batchnorm, logits
from slic_lib.model import SlicNet, read_checkpoint

from conftest import TINY

pytestmark = pytest.mark.skipif(not quantize.supported(), reason="no x86 quantized engine")


@pytest.fixture
def net_and_images():
    torch.manual_seed(0)
    net = SlicNet(**TINY).eval()
    images = np.random.default_rng(0).gamma(4.0, 0.25, size=(40, 32, 32)).astype(np.float32)
    return net, images


def test_stored_scales_rebuild_the_calibrated_network(net_and_images):
    net, images = net_and_images
    int8 = quantize.calibrate(net, images[:24])
    assert json.loads(json.dumps(int8)) == int8  # plain numbers: a weights_only checkpoint holds them
    assert int8["n_images"] == 24 and set(int8["activations"]) == {"quant", *(f"net.layer{i}.0" for i in range(1, 9))}
    q = quantize.quantize(_copy(net), int8)
    assert [name for name, _ in q.stages()][0] == "quant" and q.class_names == net.class_names
    ref, got = logits(net, images[24:]), logits(q, images[24:])
    assert got.dtype == torch.float32 and got.shape == ref.shape
    # int8 is an approximation: close on the logit scale, not equal
    assert (got - ref).abs().max() < 0.1 * ref.abs().max() and not torch.equal(got, ref)
    assert quantize.agreement(net, int8, images[24:]) >= 0.8
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())  # the caller's network is untouched


def _copy(net):
    import copy

    return copy.deepcopy(net)


def test_the_full_8_bit_range_only_where_the_cpu_has_vnni(monkeypatch, net_and_images):
    from torch.ao.quantization import HistogramObserver

    from slic_lib import inference

    net, _ = net_and_images
    for flags, top in (({"avx512_vnni", "avx512f"}, 255), ({"avx_vnni"}, 255), ({"avx2"}, 127), (None, 127)):
        monkeypatch.setattr(inference, "cpu_flags", lambda flags=flags: flags)
        q = quantize._prepared(_copy(net), None)
        observers = [m for m in q.modules() if isinstance(m, HistogramObserver)]
        assert observers and all(m.quant_max == top and m.quant_min == 0 for m in observers), flags


def test_scales_of_another_network_and_a_folded_network_are_refused(net_and_images):
    net, images = net_and_images
    int8 = quantize.calibrate(net, images[:8])
    del int8["activations"]["net.layer3.0"]
    with pytest.raises(SlicError, match="does not fit"):
        quantize.quantize(_copy(net), int8)
    with pytest.raises(SlicError, match="BatchNorm"):
        quantize.quantize(fold_batchnorm(_copy(net)), quantize.calibrate(net, images[:8]))


@pytest.fixture(scope="module")
def calibrated(dataset_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("run8")
    assert main(["train", str(dataset_file), "--out", str(out), "--lr", "5e-3", "--epochs", "4", "--batch-size", "8",
                 "--width", "0.125", "--hidden", "32", "--no-progress"]) == 0
    return out / "best.pt"


def test_calibrate_stores_scales_and_classify_int8_agrees(calibrated, dataset_file, fits_tree, tmp_path, capsys):
    files = sorted(fits_tree.rglob("*.fits"))[:12]
    with pytest.raises(SlicError, match="no int8 scales: run 'slic calibrate"):
        classify_files(files, calibrated, None, precision="int8", workers=0, progress=False)
    assert main(["calibrate", str(calibrated), str(dataset_file)]) == 0
    said = capsys.readouterr().out
    int8 = read_checkpoint(calibrated).metrics["int8"]
    assert f"{int8['agreement']:.1%} of {int8['n_agreement']} validation images" in said
    a = pd.DataFrame(classify_files(files, calibrated, None, precision="float32", workers=0, progress=False).rows)
    res = classify_files(files, calibrated, None, precision="int8", workers=0, progress=False)
    b = pd.DataFrame(res.rows)
    assert res.precision == "int8" and len(b) == len(a) and (b["status"] == "ok").all()
    assert (a["label"] == b["label"]).mean() >= 0.75
    np.testing.assert_allclose(b.filter(like="p_").sum(axis=1), 1, atol=1e-5)
    # a catalogue written in int8 records it, and a resume in another precision is refused
    out = tmp_path / "c.csv"
    assert main(["classify", *map(str, files), "--model", str(calibrated), "--out", str(out), "--precision", "int8",
                 "--workers", "0", "--no-progress"]) == 0
    # the agreement slic calibrate measured, said where int8 is used (the help promised it, but only calibrate said it)
    assert (f"int8: labels equal float32 ones on {int8['agreement']:.1%} of the model's {int8['n_agreement']} validation images"
            in capsys.readouterr().out)
    assert main(["classify", *map(str, files), "--model", str(calibrated), "--out", str(out), "--precision", "float32",
                 "--workers", "0", "--no-progress"]) == 1
    assert "precision" in capsys.readouterr().err


def test_int8_on_a_gpu_or_from_a_bare_published_state_dict_is_one_sentence(calibrated, fits_tree, tmp_path, monkeypatch):
    from slic_lib import classify

    with pytest.raises(SlicError, match="CPU only"):
        classify.resolve_precision("int8", "cuda")
    ckpt = read_checkpoint(calibrated)
    ckpt.published, ckpt.metrics = True, {}
    with pytest.raises(SlicError, match="--out NEW.pt"):
        classify.ready_model(ckpt, "int8")


def test_the_published_network_runs_in_int8_once_calibrated_into_a_checkpoint(fits_tree, tmp_path):
    from test_ood import _release

    pth, h5 = _release(tmp_path)
    out = tmp_path / "sol_class_4_calibrated.pt"
    assert main(["calibrate", str(pth), str(h5), "--out", str(out)]) == 0
    files = sorted(fits_tree.rglob("*.fits"))[:20]
    common = dict(workers=0, progress=False)
    with pytest.raises(SlicError, match="--out NEW.pt"):  # the bare file has nowhere to keep the scales
        classify_files(files, pth, precision="int8", **common)
    fast = classify_files(files, out, precision="int8", **common)
    exact = classify_files(files, out, precision="float32", **common)
    released = classify_files(files, pth, precision="float32", **common)  # the same weights, as released
    assert fast.precision == "int8" and fast.calibrated and not released.calibrated
    assert fast.n_ok == exact.n_ok == released.n_ok == len(files)
    assert exact._column("label") == released._column("label")  # a temperature never changes the argmax
    # an untrained network's probabilities: int8 within a few hundredths of float32
    probs = [c for c in fast.table.column_names if c.startswith("p_")]
    assert len(probs) == 5
    for c in probs:
        np.testing.assert_allclose(fast._column(c), exact._column(c), atol=0.05, err_msg=c)


def test_evaluate_in_int8_scores_the_network_classify_runs(calibrated, dataset_file, tmp_path, capsys):
    from slic_lib.evaluate import evaluate

    assert main(["calibrate", str(calibrated), str(dataset_file)]) == 0  # idempotent: the fixture may be fresh here
    capsys.readouterr()
    out = tmp_path / "m.json"
    assert main(["evaluate", str(dataset_file), "--model", str(calibrated), "--precision", "int8", "--json", str(out)]) == 0
    assert "in int8" in capsys.readouterr().out
    metrics = json.loads(out.read_text())
    assert metrics["timing"]["precision"] == "int8"
    exact, fast = evaluate(calibrated, dataset_file), evaluate(calibrated, dataset_file, precision="int8")
    assert fast.precision == "int8" and isinstance(fast.model, quantize.Int8Net)
    assert np.array_equal(fast.indices, exact.indices) and metrics["accuracy"] == pytest.approx(fast.report.accuracy)
    assert not np.array_equal(fast.probs, exact.probs)  # int8 arithmetic really ran
    stored = read_checkpoint(calibrated).metrics["int8"]["agreement"]  # slic calibrate's agreement on the same images
    assert np.mean(fast.preds == exact.preds) == pytest.approx(stored)
    with pytest.raises(SlicError, match="CPU only"):
        evaluate(calibrated, dataset_file, device="cuda", precision="int8")
