"""The student demos driven headless, as a student would: set a control's ``.value``, read the result.

One small network is trained here exactly as a student without a trained model gets it
(:func:`slic_lib.widgets.load_demo_model` with an empty data folder: simulated H-alpha
images, fixed seed, about ten seconds); the assertions on what it predicts are what this
network really does, measured, not what the paper's network did.
"""

from __future__ import annotations

from datetime import datetime, timezone

import astropy.units as u
import numpy as np
import pytest
import sunpy.map
import torch
import torch.nn.functional as F

from slic_lib.classes import CLASSES
from slic_lib.degrade import AIA_RESOLUTION, SOT_RESOLUTION
from slic_lib.errors import SlicError
from slic_lib.plots import style
from slic_lib.inference import predict_proba
from slic_lib.preprocess import preprocess, preprocess_array
from slic_lib.realdata import bbso, samples
from slic_lib.synthetic import render_sot, write_fits
from slic_lib.widgets import ClassifyDemo, FoolDemo, KnobDemo, ResolutionDemo, SaliencyDemo, find_model, load_demo_model
from slic_lib.widgets import images
from slic_lib.widgets.demos import AIA_FACTOR, KNOB_VALUES
from slic_lib.widgets.saliency import gradcam, gradcam_grid, last_conv_block, occlusion, saliency


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The fallback demo model, trained in an empty data folder; and the progress steps it reported."""
    data = tmp_path_factory.mktemp("slic_data")
    steps = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SLIC_DATA", str(data))
        mp.setenv("SLIC_PROFILE", "smoke")
        assert find_model() is None
        with torch.random.fork_rng():
            demo = load_demo_model(on_step=lambda done, total, message: steps.append((done, total, message)))
        again = load_demo_model()
    return demo, again, steps, data


@pytest.fixture(scope="module")
def model(trained):
    return trained[0]


def test_without_a_model_the_demo_trains_one_with_progress_and_keeps_it(trained):
    demo, again, steps, data = trained
    assert demo.trained_here and "No trained model was found" in demo.note
    assert demo.path == data / "models" / "demo" / "best.pt" and demo.path.is_file()
    done = [d for d, _, _ in steps]
    assert done == list(range(1, steps[0][1] + 1)), "the progress bar moves once per step up to its total"
    assert "validation accuracy" in steps[-1][2]
    # the second demo finds the kept model instead of training again, and says where it is
    assert not again.trained_here and again.path == demo.path and "$SLIC_DATA/models/demo/best.pt" in again.note
    # it learned: better than chance (20 %) on held-out simulated images
    assert float(demo.note.split("validation accuracy ")[1].split("%")[0]) > 50


def test_no_model_and_no_training_is_one_clear_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIC_DATA", str(tmp_path))
    with pytest.raises(SlicError, match="no trained model was found"):
        load_demo_model(train_if_missing=False)


def test_classify_demo_follows_the_class_and_seed(model):
    demo = ClassifyDemo(model)
    first_image = demo.image.value
    assert demo.source.value == "simulated" and bytes(demo.image.value).startswith(b"\x89PNG")
    seen = {}
    for name in CLASSES:
        demo.class_name.value = name
        assert demo.truth == name and f"true class: {name}" in demo.prediction.value
        assert demo.probabilities.sum() == pytest.approx(1, abs=1e-5)
        assert f"<b>{demo.predicted}</b>" in demo.prediction.value
        # the bars show the same numbers, the top one highlighted
        bars = demo.bars.bars
        assert [bars[c].value for c in CLASSES] == pytest.approx(demo.probabilities.tolist())
        # in the figures' colours: the true class green, a wrong top class vermillion, the rest grey
        assert bars[name].style.bar_color == style.TRUE_COLOUR
        wrong = demo.predicted != name
        assert bars[demo.predicted].style.bar_color == (style.WRONG_COLOUR if wrong else style.TRUE_COLOUR)
        assert {bars[c].style.bar_color for c in CLASSES if c not in (name, demo.predicted)} <= {style.OTHER_COLOUR}
        # the demo's probabilities are the project's one prediction path on the image it shows
        smap = images.simulated_map(name, 0)
        assert demo.probabilities == pytest.approx(predict_proba(model.model, preprocess(smap, model.model.preprocessing)[None])[0], abs=1e-6)
        seen[name] = demo.predicted
    right = [seen[c] == c for c in CLASSES]
    demo.seed.value = 1
    for name in CLASSES:
        demo.class_name.value = name
        right.append(demo.predicted == name)
    # far better than chance (2 of these 10 simulated images expected)
    assert sum(right) >= 5, right
    before = demo.probabilities.copy()
    demo.seed.value = 7
    assert not np.allclose(demo.probabilities, before), "another seed, another image"
    assert bytes(demo.image.value) != bytes(first_image)


def test_simulated_image_is_drawn_with_its_instrument_colour_map_and_coordinates(model):
    smap = images.simulated_map("prominences", 3)
    assert isinstance(smap, sunpy.map.sources.SOTMap) and smap.cmap.name == "hinodesotintensity"
    aia = images.aia_map("304_prominence", 3, 128, corona=0.5)
    assert aia.cmap.name == "sdoaia304" and aia.wavelength == 304 * u.AA


@pytest.mark.skipif(not bbso.available(), reason="filament-augmentation-engine is not installed")
def test_real_bbso_crop_and_sample_maps(model):
    from slic_lib.widgets import demos

    demo = ClassifyDemo(model)
    demos._REAL_SEEN.clear()
    said = []
    demo.message.observe(lambda change: said.append(change["new"]), names="value")
    demo.source.value = "real"
    # the first real image takes seconds to read: the page says so at once, then clears it
    assert said[0].startswith("Loading the real image") and demo.message.value == ""
    names = [value for _, value in demo.real.options]
    assert names[:2] == ["bbso_filaments_1", "bbso_filaments_2"] and "aia_171_level1" in names
    assert demo.truth == "filaments" and "true class: filaments" in demo.prediction.value
    assert demo.class_name.layout.display == "none" and demo.real.layout.display is None
    demo.real.value = "bbso_quiet_1"
    assert demo.truth == "quiet"
    assert demo.message.value == ""  # H-alpha: no warning
    demo.real.value = "aia_171_level1"  # sunpy's own test image: no class known
    assert demo.truth is None and "true class" not in demo.prediction.value
    # an image outside H-alpha still gets an answer, but the page says it means nothing
    assert "taken at 171 Å; the network learned only H-alpha" in demo.message.value
    bars = demo.bars.bars
    assert bars[demo.predicted].style.bar_color == style.THIS_RUN_COLOUR  # no truth: the top class neither right nor wrong
    assert samples.load("aia_171_level1").data.shape == (128, 128)


def _upload(content: bytes, name: str) -> tuple:
    return ({"name": name, "type": "application/fits", "size": len(content), "content": memoryview(content),
             "last_modified": datetime.now(timezone.utc)},)


def test_upload_a_fits_file(model, tmp_path):
    path = write_fits(render_sot("flares", np.random.default_rng(5), 128), tmp_path / "mine.fits")
    demo = ClassifyDemo(model)
    demo.upload.value = _upload(path.read_bytes(), "mine.fits")
    assert demo.source.value == "upload" and demo.message.value == ""
    assert demo.uploaded_name == "mine.fits" and demo.upload.layout.display is None
    expected = predict_proba(model.model, preprocess(path, model.model.preprocessing)[None])[0]
    assert demo.probabilities == pytest.approx(expected, abs=1e-6)
    assert demo.truth is None  # an uploaded file's class is not known


def test_a_bad_upload_gives_one_sentence_and_keeps_the_demo_alive(model):
    demo = ClassifyDemo(model)
    assert demo.probabilities is not None and demo.prediction.value
    demo.upload.value = _upload(b"SIMPLE  = not really a FITS file", "broken.fits")
    assert "broken.fits cannot be classified" in demo.message.value
    # nothing of the last image's answer stays beside the sentence, where it would read as this file's
    assert demo.probabilities is None and demo.prediction.value == "" and bytes(demo.image.value) == b""
    assert all(bar.value == 0 for bar in demo.bars.bars.values())
    demo.load_upload("page.fits", b"<html><body>502 Bad Gateway</body></html>")
    assert "page.fits cannot be classified: not a FITS file: it looks like an HTML page" in demo.message.value
    assert "/tmp" not in demo.message.value  # the server's temporary path is not the student's business
    demo.load_upload("notes.txt", b"hello")
    assert "is not a FITS file" in demo.message.value
    demo.source.value = "upload"  # nothing was uploaded that could be read
    assert "upload a FITS file" in demo.message.value


def test_uploads_of_the_files_students_have(model, tmp_path):
    from astropy.io import fits

    sim = render_sot("sunspots", np.random.default_rng(2), 128)
    image = sim.data.astype(np.float32)
    demo = ClassifyDemo(model)
    plain = tmp_path / "plain.fits"  # a bare array: no coordinate keywords at all (sunpy's Map refuses it)
    fits.PrimaryHDU(image).writeto(plain)
    demo.load_upload("plain.fits", plain.read_bytes())
    assert demo.message.value == "" and demo.uploaded_name == "plain.fits"
    assert "no solar coordinates" in demo.current_map()[2]
    expected = predict_proba(model.model, preprocess_array(image, model.model.preprocessing)[None])[0]
    assert demo.probabilities == pytest.approx(expected, abs=1e-5)  # what slic classify gives the same file
    rice = tmp_path / "rice.fits"  # tile-compressed, the image in an extension
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(image, compression_type="RICE_1", quantize_level=64)]).writeto(rice)
    demo.load_upload("rice.fits", rice.read_bytes())
    assert demo.message.value == "" and demo.uploaded_name == "rice.fits"
    constant = tmp_path / "flat.fits"
    from dataclasses import replace

    write_fits(replace(sim, data=np.full_like(image, 5.0)), constant)  # coordinates, but nothing to see
    demo.load_upload("flat.fits", constant.read_bytes())
    assert "flat.fits cannot be classified" in demo.message.value and demo.prediction.value == ""
    assert demo.uploaded is None


def test_resolution_factor_8_makes_pixels_and_resolution_8_times_coarser(model):
    demo = ResolutionDemo(model, class_name="sunspots")
    original = demo.original
    assert demo.degraded.data.shape == original.data.shape  # factor 1: the image as simulated
    p1 = demo.probabilities.copy()
    demo.factor.value = 8.0
    degraded = demo.degraded
    assert degraded.data.shape == tuple(round(n / 8) for n in original.data.shape)
    assert (degraded.scale.axis1 / original.scale.axis1).value == pytest.approx(8, rel=0.01)
    assert degraded.meta["degrres"] == pytest.approx(8 * SOT_RESOLUTION)
    # the fine structure is gone: brought back to the same grid, the image has far less small-scale contrast
    back = np.kron(degraded.data, np.ones((8, 8)))
    detail = lambda a: np.abs(np.diff(a, axis=1)).mean() / a.std()  # noqa: E731
    assert detail(back[:, :-1]) < 0.5 * detail(original.data.astype(float))
    # this 32-pixel network sees the image at 1/8 of its side anyway: factor 8 does not change its answer
    # (measured: p_sunspots 0.79 -> 0.89), as resolution hardly mattered to the paper's network
    assert demo.class_names[int(np.argmax(p1))] == demo.predicted
    assert np.abs(demo.probabilities - p1).max() < 0.25
    assert demo.curve_probabilities.shape == (11, len(CLASSES))


def test_resolution_caption_says_how_much_the_network_already_shrinks_the_image(model):
    demo = ResolutionDemo(model)
    side = model.model.config.input_size
    assert f"This network sees {side}\u00d7{side} pixels" in demo.caption.value
    assert f"shrunk {images.SIM_SIZE / side:g} times" in demo.caption.value and "coarser than AIA's 0.6" in demo.caption.value


def test_resolution_button_jumps_to_the_aia_factor(model):
    demo = ResolutionDemo(model)
    demo.to_aia.click()
    assert demo.factor.value == pytest.approx(AIA_FACTOR, abs=0.01) and AIA_FACTOR == pytest.approx(AIA_RESOLUTION / SOT_RESOLUTION)
    assert demo.degraded.meta["degrres"] == pytest.approx(AIA_RESOLUTION, abs=0.01)
    assert demo.degraded.data.shape == (70, 70)


SEEDS = (0, 1, 2, 3)


def _knob_sweep(demo, values, true_class):
    """p(true class) and whether it is on top, per (seed, value), moving the demo's own sliders."""
    k = CLASSES.index(true_class)
    p, top = {}, {}
    for seed in SEEDS:
        demo.seed.value = seed
        for v in values:
            demo.knob.value = v
            p[seed, v], top[seed, v] = demo.probabilities[k], demo.predicted == true_class
    return p, top


def test_plage_lowers_the_sunspot_probability_and_strong_plage_never_lets_it_win(model):
    """Measured (seeds 0-3, simulator of 2026-11-25 23:20): mean p_sunspots 0.41 without plage, 0.20 with the
    realistic plage, 0.19 at eight times; this H-alpha network never puts the AIA 1600 sunspot on top."""
    demo = KnobDemo(model, "plage")
    p, top = _knob_sweep(demo, (0.0, 1.0, 8.0), "sunspots")
    mean = {v: np.mean([p[s, v] for s in SEEDS]) for v in (0.0, 1.0, 8.0)}
    assert mean[1.0] < mean[0.0] - 0.1 and mean[8.0] < mean[0.0] - 0.1, mean
    assert not any(top[s, 8.0] for s in SEEDS) and "(wrong)" in demo.prediction.value
    # one colour scale per seed (the realistic scene's), so the unchanged background keeps its colour
    assert demo.limits == (float(np.nanmin(demo.scene(1.0).data)), float(np.nanmax(demo.scene(1.0).data)))
    # the seed's own verdict, from its sweep: the realistic scene is called what the sweep calls it
    at1 = str(demo.sweep_frame.loc[np.isclose(demo.sweep_frame["value"], 1.0), "predicted"].iloc[0])
    expected = "is classified correctly (sunspots)" if at1 == "sunspots" else f"the realistic scene is called {at1}"
    assert expected in demo.verdict.value
    # the curve is notebook 07's sweep for the demo's seed, and it agrees with the live prediction
    row = demo.sweep_frame[np.isclose(demo.sweep_frame["value"], 8.0)]
    assert float(row["p_true"].iloc[0]) == pytest.approx(p[SEEDS[-1], 8.0], abs=0.02)
    assert list(demo.sweep_frame["value"]) == list(KNOB_VALUES)


def test_strong_corona_takes_prominences_off_the_top(model):
    """Measured (seeds 0-3, the simulator of main at 1b60a1f): p_prominences 0.99-1.00 without corona and at the
    realistic value, still 0.88-1.00 at four times; at eight times the mean falls to 0.77 and prominences lose the
    top place in 1 of the 4 seeds (p 0.12). The realistic corona does not fool this network; only a strong one does."""
    demo = KnobDemo(model, "corona")
    p, top = _knob_sweep(demo, (0.0, 1.0, 8.0), "prominences")
    mean = {v: np.mean([p[s, v] for s in SEEDS]) for v in (0.0, 1.0, 8.0)}
    assert min(mean[0.0], mean[1.0]) > mean[8.0] + 0.1, mean
    assert all(top[s, 0.0] and top[s, 1.0] for s in SEEDS), top
    assert not all(top[s, 8.0] for s in SEEDS), top


def test_an_unknown_knob_is_a_user_error(model):
    with pytest.raises(SlicError, match="unknown knob"):
        KnobDemo(model, "flux")


def test_fool_demo_lays_out_both_knobs(model):
    demo = FoolDemo(model, seed=2)
    assert (demo.plage.name, demo.corona.name) == ("plage", "corona") and demo.plage.seed.value == demo.corona.seed.value == 2
    assert demo.plage.widget in demo.widget.children and demo.corona.widget in demo.widget.children


def test_saliency_toggle_between_gradcam_and_occlusion(model):
    demo = SaliencyDemo(model)
    assert demo.method.value == "Grad-CAM" and demo.method.layout.display is None
    side = model.model.preprocessing.size
    cam = demo.saliency_map
    # scaled to 0..1; all zero only when no region raises the class's score (Grad-CAM keeps positive evidence)
    assert cam.shape == (side, side) and cam.min() >= 0 and cam.max() in (pytest.approx(1), 0)
    assert (cam.max() == 0) == ("finds no region" in demo.message.value)
    # Grad-CAM resolves the last block's grid, 1/16 of the input's side; a grid under 4x4 is said to be coarse
    grid = gradcam_grid(model.model)
    assert grid == side // 16 and (grid < 4) == ("Occlusion is finer" in demo.message.value)
    with_overlay = demo.image.value
    demo.method.value = "occlusion"
    assert demo.saliency_map.shape == (side, side) and not np.allclose(demo.saliency_map, cam)
    demo.method.value = "none"
    assert demo.saliency_map is None and bytes(demo.image.value) != bytes(with_overlay)
    assert ClassifyDemo(model).method.layout.display == "none"  # demo 1 has no toggle


def test_gradcam_is_the_gradient_weighted_last_application_of_the_last_block(model):
    net = model.model
    x = torch.from_numpy(preprocess(images.simulated_map("sunspots", 1), net.preprocessing))[None, None]
    target = 4
    outputs = []
    hook = last_conv_block(net).register_forward_hook(lambda m, i, o: outputs.append(o))
    try:
        logits = net(x)
    finally:
        hook.remove()
    last = outputs[-1]  # the slic network applies layer8 three times; the classifier sees the last
    (grad,) = torch.autograd.grad(logits[0, target], last)
    cam = F.relu((grad.mean(dim=(2, 3), keepdim=True) * last).sum(1, keepdim=True))
    expected = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0].detach().numpy()
    assert gradcam(net, x[0, 0].numpy(), target) == pytest.approx(expected, abs=1e-5)


def test_occlusion_finds_the_one_patch_that_matters():
    """On a model whose logit is the mean of one corner, occlusion lights up that corner only."""

    class Corner(torch.nn.Module):
        def forward(self, x):
            return torch.stack([x[:, 0, :8, :8].mean((1, 2)), torch.zeros(len(x))], 1)

    image = np.ones((32, 32), np.float32)
    sal = saliency(Corner(), image, 0, "occlusion")
    assert sal[:8, :8].mean() > 0.5 and sal[16:, 16:].max() == 0
    assert occlusion(Corner(), image, 0).shape == (32, 32)
    with pytest.raises(SlicError, match="unknown saliency method"):
        saliency(Corner(), image, 0, "lime")


def test_uploaded_bytes_that_are_not_fits_are_refused():
    with pytest.raises(SlicError, match="not a FITS file"):
        images.map_from_fits_bytes(b"abc", "picture.png")
    assert images.real_label("bbso_quiet_2") == "BBSO H-alpha quiet crop 2 (2015)"


def test_notebooks_show_a_progress_bar_while_the_fallback_model_trains(model, trained, monkeypatch):
    import slic_lib.widgets.demos as demos

    shown = []
    monkeypatch.setattr(demos, "display", shown.append)
    monkeypatch.setattr(demos, "find_model", lambda profile=None: None)

    def fake_training(profile=None, on_step=None):
        for done in (1, 2, 3):
            on_step(done, 3, f"epoch {done}")
        return model

    monkeypatch.setattr(demos, "load_demo_model", fake_training)
    assert demos.model_with_progress() is model
    label, bar = shown[0].children
    assert (bar.value, bar.max, bar.bar_style) == (3, 3, "success") and label.value == model.note.replace("'", "&#x27;")
    # with a model present, it is loaded and nothing is displayed
    monkeypatch.undo()
    monkeypatch.setenv("SLIC_DATA", str(trained[3]))
    monkeypatch.setattr(demos, "display", shown.append)
    assert demos.model_with_progress().path == model.path and len(shown) == 1
