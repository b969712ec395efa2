"""The student demos as ipywidgets objects: all their logic, testable without a browser.

Each demo takes a :class:`~slic_lib.widgets.models.DemoModel`, builds its controls, and
exposes:

``widget``
    the layout a notebook displays (Voilà serves it);
``update()``
    the handler every control calls when its value changes (tests set ``.value`` and read
    the result, or call it directly);
``probabilities``, ``predicted``
    the network's class probabilities (one prediction path:
    :func:`slic_lib.inference.predict_proba` after :func:`slic_lib.preprocess.preprocess_array`
    with the model's own preprocessing) and its top class;
``prediction``
    the HTML line a student reads (CSS class ``slic-prediction``, which the browser test finds).

=========================  ====================================================================
:class:`ClassifyDemo`      demo 1: a simulated, real or uploaded image, live probability bars
:class:`ResolutionDemo`    demo 2: degrade by a factor 1-8 (PSF + resampling of the resolution test)
:class:`FoolDemo`          demo 3: plage around an AIA 1600 sunspot, corona behind an AIA 304 prominence
:class:`SaliencyDemo`      demo 4: Grad-CAM or occlusion over the image, for the predicted class
=========================  ====================================================================
"""

from __future__ import annotations

import functools
import html
from functools import lru_cache

import ipywidgets as widgets
import numpy as np
from IPython.display import display

from ..classes import CLASSES
from ..degrade import AIA_RESOLUTION, SOT_RESOLUTION, degrade, degrade_map_by, equivalent_factor
from ..errors import SlicError
from ..experiments.hypotheses import SWEEPS, sweep
from ..inference import cpu_threads, predict_proba
from ..ood import outside_band
from ..preprocess import BadFrameError, clean, image_array, preprocess_array
from ..plots.style import OTHER_COLOUR, THIS_RUN_COLOUR, TRUE_COLOUR, WRONG_COLOUR
from . import images
from .models import DemoModel, find_model, load_demo_model
from .render import draw_curve, draw_input, draw_map
from .saliency import METHODS, gradcam_grid, saliency

AIA_FACTOR = equivalent_factor()
"""SOT -> AIA degradation factor (1.2" / 0.33" = 3.64), marked on the resolution demo."""
FACTORS = (1.0, 1.5, 2.0, 2.5, 3.0, AIA_FACTOR, 4.0, 5.0, 6.0, 7.0, 8.0)
"""Factors of the resolution demo's curve."""
KNOB_MAX = 8.0
"""Largest knob value (eight times the realistic plage or corona).

Measured with the small demo network (seed 0): the realistic plage already takes sunspots off the
top, but the corona does so only between 6 and 8 times its realistic value, so a shorter range
would hide that it can fool the network at all."""
KNOB_VALUES = tuple(np.round(np.linspace(0.0, KNOB_MAX, 17), 2))
"""Knob values of the fool-the-network curves (1 = the realistic scene)."""
SEED_MAX = 99
SLIDER_STYLE = {"description_width": "initial"}


def one_thread(handler):
    """Run a handler with torch on one CPU thread (see :func:`slic_lib.inference.cpu_threads`).

    Measured with ``benchmarks/bench_demos.py`` on a shared 2-core machine: two threads made the
    saliency updates 1.5-2.5 s, one thread 0.2-0.35 s; a single image gains nothing from a second.
    """

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        with cpu_threads(1):
            return handler(*args, **kwargs)

    return wrapper


def band_warning(smap) -> str:
    """A line for an image taken outside H-alpha (its header's wavelength; :func:`slic_lib.ood.outside_band`):
    the network learned only H-alpha, so its answer there says nothing, however sure it looks."""
    wavelength = getattr(smap, "wavelength", None)
    if wavelength is None or not outside_band(float(wavelength.value), str(wavelength.unit)):
        return ""
    return (f"<span style='color:{WRONG_COLOUR}'>This image was taken at {wavelength.value:g} {html.escape(wavelength.unit.to_string('unicode'))}; "
            "the network learned only H-alpha (6563 &#8491;), so its answer here means nothing, however sure it looks.</span>")


def _hidden(widget: widgets.Widget, hide: bool) -> None:
    widget.layout.display = "none" if hide else None


class ProbabilityBars:
    """One horizontal bar per class (``FloatProgress``, 0-1) with its percentage, in the figures' colours:
    the true class green and a wrong top class vermillion where the truth is known, else the top
    class blue; the others grey."""

    def __init__(self, class_names) -> None:
        self.class_names = tuple(class_names)
        self.bars = {c: widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description=c, style=SLIDER_STYLE,
                                              layout=widgets.Layout(width="300px")) for c in self.class_names}
        self.labels = {c: widgets.Label("", layout=widgets.Layout(width="60px")) for c in self.class_names}
        self.widget = widgets.VBox([widgets.HBox([self.bars[c], self.labels[c]]) for c in self.class_names])

    def clear(self) -> None:
        """Empty bars: nothing is classified (after an error)."""
        for c in self.class_names:
            self.bars[c].value, self.bars[c].style.bar_color, self.labels[c].value = 0.0, OTHER_COLOUR, ""

    def show(self, probabilities: np.ndarray, truth: str | None = None) -> None:
        top = self.class_names[int(np.argmax(probabilities))]
        for i, c in enumerate(self.class_names):
            self.bars[c].value = float(probabilities[i])
            self.bars[c].style.bar_color = self.colour(c, top, truth)
            self.labels[c].value = f"{probabilities[i]:.1%}"

    @staticmethod
    def colour(name: str, top: str, truth: str | None) -> str:
        """A bar's colour, as :func:`slic_lib.plots.style.prob_bars` colours a figure's."""
        if truth is None:
            return THIS_RUN_COLOUR if name == top else OTHER_COLOUR
        if name == truth:
            return TRUE_COLOUR
        return WRONG_COLOUR if name == top else OTHER_COLOUR


class _Demo:
    """What every demo shares: the model, the image panel, the probability bars and the prediction line."""

    def __init__(self, demo: DemoModel) -> None:
        self.demo = demo
        self.model = demo.model
        self.class_names = tuple(self.model.class_names)
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="396px", min_width="396px", height="365px", object_fit="contain"))
        self.bars = ProbabilityBars(self.class_names)
        self.prediction = widgets.HTML("")
        self.prediction.add_class("slic-prediction")
        self.message = widgets.HTML("")
        self.message.add_class("slic-message")
        self.model_note = widgets.HTML(f"<small>{html.escape(demo.note)}</small>")
        self.probabilities: np.ndarray | None = None
        self.network_input: np.ndarray | None = None
        self.truth: str | None = None

    @property
    def predicted(self) -> str | None:
        """The top class of the last update (None before the first)."""
        return None if self.probabilities is None else self.class_names[int(np.argmax(self.probabilities))]

    def classify(self, smap) -> np.ndarray:
        """Class probabilities of a map (or array) through the model's preprocessing; keeps the network's input."""
        self.network_input = preprocess_array(image_array(smap), self.model.preprocessing)
        return predict_proba(self.model, self.network_input[None])[0]

    def show_prediction(self, probabilities: np.ndarray, truth: str | None = None) -> None:
        """Update the bars and the prediction line."""
        self.probabilities = np.asarray(probabilities, dtype=np.float64)
        self.truth = truth
        self.bars.show(self.probabilities, truth)
        top = self.predicted
        line = f"Prediction: <b>{top}</b> ({self.probabilities.max():.1%})"
        if truth is not None:
            verdict = "right" if top == truth else "wrong"
            colour = TRUE_COLOUR if top == truth else WRONG_COLOUR
            line += f" &mdash; true class: {truth} <span style='color:{colour}'>({verdict})</span>"
        self.prediction.value = line

    def show_error(self, exc: Exception) -> None:
        """The sentence in red, and nothing left of the last image's answer: its picture, bars and
        prediction line would read as this one's."""
        self.message.value = f"<span style='color:{WRONG_COLOUR}'>{html.escape(str(exc))}</span>"
        self.image.value, self.prediction.value, self.probabilities = b"", "", None
        self.bars.clear()

    def _observe(self, *controls: widgets.Widget) -> None:
        for control in controls:
            control.observe(lambda change: self.update(), names="value")

    def update(self) -> None:  # pragma: no cover - every demo defines it
        raise NotImplementedError


@lru_cache(maxsize=64)
def _simulated(class_name: str, seed: int):
    return images.simulated_map(class_name, seed)


@lru_cache(maxsize=16)
def _real(name: str):
    return images.real_map(name)


_REAL_SEEN: set[str] = set()


class ClassifyDemo(_Demo):
    """Demo 1: classify a simulated image of any class, a real one, or an uploaded FITS file.

    Parameters
    ----------
    demo : DemoModel
        The network.
    saliency_method : str
        ``"none"`` or one of :data:`slic_lib.widgets.saliency.METHODS`: the overlay shown first
        (the toggle appears when ``show_saliency``).
    show_saliency : bool
        Offer the saliency toggle (demo 4).
    """

    SOURCES = ("simulated", "real", "upload")

    def __init__(self, demo: DemoModel, saliency_method: str = "none", show_saliency: bool = False) -> None:
        super().__init__(demo)
        self.source = widgets.ToggleButtons(options=self.SOURCES, value="simulated", description="image")
        self.class_name = widgets.Dropdown(options=CLASSES, value="sunspots", description="class")
        self.seed = widgets.IntSlider(value=0, min=0, max=SEED_MAX, description="seed", continuous_update=False)
        names = images.real_names()
        self.real = widgets.Dropdown(options=[(images.real_label(n), n) for n in names], value=names[0] if names else None,
                                     description="real image", style=SLIDER_STYLE, layout=widgets.Layout(width="420px"))
        self.upload = widgets.FileUpload(accept=".fits,.fts,.fit,.fz,.gz", multiple=False, description="FITS file")
        self.method = widgets.ToggleButtons(options=("none", *METHODS), value=saliency_method, description="saliency")
        _hidden(self.method, not show_saliency)
        self.uploaded = None
        self.uploaded_name = ""
        self.saliency_map: np.ndarray | None = None
        self._observe(self.source, self.class_name, self.seed, self.real, self.method)
        self.upload.observe(self._on_upload, names="value")
        controls = widgets.VBox([self.source, self.class_name, self.seed, self.real, self.upload, self.method])
        right = widgets.VBox([self.prediction, self.bars.widget, self.message, self.model_note], layout=widgets.Layout(width="440px"))
        self.widget = widgets.VBox([controls, widgets.HBox([self.image, right])])
        self.update()

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        first = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        self.load_upload(first["name"], first["content"])

    def load_upload(self, name: str, content: bytes) -> None:
        """Read an uploaded FITS file and show it (a bad file gives one sentence, not a traceback)."""
        try:
            smap = images.map_from_fits_bytes(content, name)
            try:  # the network's preprocessing too, so that a constant or negative image is refused here, by name
                preprocess_array(image_array(smap), self.model.preprocessing)
            except BadFrameError as exc:
                raise SlicError(f"{name} cannot be classified: {exc}.") from None
            self.uploaded, self.uploaded_name = smap, name
        except SlicError as exc:
            self.uploaded = None
            self.show_error(exc)
            return
        if self.source.value == "upload":
            self.update()
        else:
            self.source.value = "upload"  # its observer updates

    def current_map(self):
        """``(map, true class or None, title)`` of the selected source."""
        source = self.source.value
        if source == "simulated":
            return _simulated(self.class_name.value, int(self.seed.value)), self.class_name.value, None
        if source == "real":
            if self.real.value is None:
                raise SlicError("no real images are installed here (pip install --no-deps filament-augmentation-engine sunkit-image).")
            name = self.real.value
            truth = name.split("_")[1] if name.startswith("bbso_") else None
            return _real(name), truth, images.real_label(name)
        if self.uploaded is None:
            raise SlicError("upload a FITS file with the button above.")
        return self.uploaded, None, images.upload_title(self.uploaded, self.uploaded_name)

    @one_thread
    def update(self) -> None:
        """Show the selected image, its probabilities and (if asked) the saliency of the predicted class."""
        source = self.source.value
        _hidden(self.class_name, source != "simulated")
        _hidden(self.seed, source != "simulated")
        _hidden(self.real, source != "real")
        _hidden(self.upload, source != "upload")
        if source == "real" and self.real.value is not None and self.real.value not in _REAL_SEEN:
            # the first real image reads its full-disc file (2 s here): say so, the page shows it at once
            self.message.value = "Loading the real image (a few seconds the first time)..."
            _REAL_SEEN.add(self.real.value)
        try:
            smap, truth, title = self.current_map()
            probabilities = self.classify(smap)
        except SlicError as exc:
            self.show_error(exc)
            return
        self.message.value = band_warning(smap)
        method = self.method.value
        top = int(np.argmax(probabilities))
        self.saliency_map = None
        label = ""
        if method != "none":
            self.saliency_map = saliency(self.model, self.network_input, top, method)
            label = f"{method} for '{self.class_names[top]}'"
            if method == "Grad-CAM":
                grid = gradcam_grid(self.model)
                label += f" ({grid}\u00d7{grid} grid)"
                if grid < 4:
                    self.message.value += (f"<br>Grad-CAM works on the network's last {grid}\u00d7{grid} grid here (its input is "
                                           f"{self.network_input.shape[0]} pixels): it can only point to a part of the image that "
                                           "size, so a small feature's glow can sit beside it. Occlusion is finer.")
            if not self.saliency_map.any():
                self.message.value += (f"<br>{method} finds no region that raises the score of '{self.class_names[top]}' "
                                       "(all its evidence there is negative); try the other method.")
            self.message.value = self.message.value.removeprefix("<br>")
        self.image.value = draw_map(smap, title, overlay=self.saliency_map, overlay_label=label)
        self.show_prediction(probabilities, truth)  # last: the page's prediction line changes when all is drawn


class SaliencyDemo(ClassifyDemo):
    """Demo 4: where the network looks, Grad-CAM or occlusion for the predicted class over the image."""

    def __init__(self, demo: DemoModel, saliency_method: str = "Grad-CAM") -> None:
        super().__init__(demo, saliency_method=saliency_method, show_saliency=True)


class ResolutionDemo(_Demo):
    """Demo 2: degrade a simulated SOT H-alpha image by a factor 1-8 and watch the probabilities.

    The degradation is the resolution test's (:func:`slic_lib.degrade.degrade_map_by`: a PSF
    that takes the resolution from SOT's 0.33" to ``factor`` times that, then area-weighted
    resampling to ``factor`` times larger pixels, the map's WCS updated). The curve shows the
    probability of the true class at :data:`FACTORS`, the SOT -> AIA factor marked.
    """

    def __init__(self, demo: DemoModel, class_name: str = "sunspots", seed: int = 0) -> None:
        super().__init__(demo)
        self.class_name = widgets.Dropdown(options=CLASSES, value=class_name, description="class")
        self.seed = widgets.IntSlider(value=seed, min=0, max=SEED_MAX, description="seed", continuous_update=False)
        self.factor = widgets.FloatSlider(value=1.0, min=1.0, max=8.0, step=0.01, readout_format=".2f", continuous_update=False,
                                          description="degradation factor", style=SLIDER_STYLE, layout=widgets.Layout(width="420px"))
        self.to_aia = widgets.Button(description=f"SOT \u2192 AIA (\u00d7{AIA_FACTOR:.2f})", tooltip="degrade to SDO/AIA's 1.2\" resolution")
        self.to_aia.on_click(lambda _: setattr(self.factor, "value", round(AIA_FACTOR, 2)))
        side, shrink = self.model.config.input_size, images.SIM_SIZE / self.model.config.input_size
        self.caption = widgets.HTML(
            f"<small>Factor 1: Hinode/SOT's {SOT_RESOLUTION}\" resolution; factor {AIA_FACTOR:.2f}: SDO/AIA's {AIA_RESOLUTION}\" "
            "(the paper's Sect. 4.2.1 test). The image is blurred by the added PSF and resampled to pixels that many times "
            "larger (at the AIA mark the resolution is AIA's, the pixels are coarser than AIA's 0.6\"). This network sees "
            f"{side}\u00d7{side} pixels: the {images.SIM_SIZE}-pixel image is already shrunk {shrink:g} times before it looks, so "
            f"degrading by less than about {shrink:g} changes little of what it sees (the small grey image).</small>")
        self.curve = widgets.Image(format="png", layout=widgets.Layout(width="400px"))
        self.network_view = widgets.Image(format="png", layout=widgets.Layout(width="171px", height="192px", object_fit="contain"))
        self.degraded = None
        self.curve_probabilities: np.ndarray | None = None
        self.class_name.observe(lambda _: self.new_image(), names="value")
        self.seed.observe(lambda _: self.new_image(), names="value")
        self._observe(self.factor)
        controls = widgets.VBox([widgets.HBox([self.class_name, self.seed]), widgets.HBox([self.factor, self.to_aia]), self.caption])
        right = widgets.VBox([self.prediction, self.bars.widget, self.curve, self.model_note], layout=widgets.Layout(width="440px"))
        self.widget = widgets.VBox([controls, widgets.HBox([self.image, self.network_view, right])])
        self.new_image()

    @property
    def original(self):
        """The full-resolution simulated map."""
        return _simulated(self.class_name.value, int(self.seed.value))

    @one_thread
    def new_image(self) -> None:
        """A new class or seed: recompute the curve over :data:`FACTORS`, then :meth:`update`."""
        smap = self.original
        # the curve degrades the array (what degrade_map_by does to the map's data, without rebuilding a WCS per factor)
        data, scale = clean(image_array(smap)), float(smap.scale.axis1.to_value("arcsec / pix"))
        batch = np.stack([preprocess_array(degrade(data, f, scale), self.model.preprocessing) for f in FACTORS])
        self.curve_probabilities = predict_proba(self.model, batch)
        self.update()

    @one_thread
    def update(self) -> None:
        """Degrade by the slider's factor, classify, redraw the image and the curve's marker."""
        factor = float(self.factor.value)
        self.degraded = degrade_map_by(self.original, factor)
        truth = self.class_name.value
        probabilities = self.classify(self.degraded)
        scale = float(self.degraded.scale.axis1.value)
        title = (f"{truth}, degraded \u00d7{factor:.2f}: resolution {factor * SOT_RESOLUTION:.2f}\", "
                 f"pixels {scale:.2f}\" ({self.degraded.data.shape[1]}\u00d7{self.degraded.data.shape[0]})")
        self.image.value = draw_map(self.degraded, title)
        side = self.network_input.shape[0]
        self.network_view.value = draw_input(self.network_input, f"What the network sees: {side}\u00d7{side} pixels")
        k = self.class_names.index(truth)
        self.curve.value = draw_curve(FACTORS, self.curve_probabilities[:, k], factor, "degradation factor", f"p({truth})",
                                      f"Probability of the true class, seed {self.seed.value}", current_y=float(probabilities[k]),
                                      marks={"SOT\u2192AIA": AIA_FACTOR})
        self.show_prediction(probabilities, truth)  # last: the page's prediction line changes when all is drawn


class KnobDemo(_Demo):
    """One physical knob of an AIA scene: ``"plage"`` (1600 A sunspot) or ``"corona"`` (304 A prominence).

    The scene is :func:`slic_lib.synthetic.aia.aia_scene` with everything but the knob fixed
    by the seed (0: the feature removed, 1: realistic, 8: eight times as strong); the curve is
    :func:`slic_lib.experiments.hypotheses.sweep` over :data:`KNOB_VALUES` for the same seed
    (notebook 07's causal test, one seed at a time).
    """

    def __init__(self, demo: DemoModel, name: str, seed: int = 0, value: float = 1.0, size: int = images.SIM_SIZE) -> None:
        if name not in SWEEPS:
            raise SlicError(f"unknown knob {name!r}; choose one of {', '.join(SWEEPS)}.")
        super().__init__(demo)
        self.name, self.spec, self.size = name, SWEEPS[name], size
        self.seed = widgets.IntSlider(value=seed, min=0, max=SEED_MAX, description="seed", continuous_update=False)
        self.knob = widgets.FloatSlider(value=value, min=0.0, max=KNOB_MAX, step=0.1, continuous_update=False, readout_format=".1f",
                                        description=f"{name} (1 = realistic)", style=SLIDER_STYLE, layout=widgets.Layout(width="380px"))
        self.knob.add_class(f"slic-knob-{name}")
        self.curve = widgets.Image(format="png", layout=widgets.Layout(width="400px"))
        self.verdict = widgets.HTML("")
        self.verdict.add_class(f"slic-verdict-{name}")
        self.sweep_frame = None
        self.limits: tuple[float, float] | None = None
        self.seed.observe(lambda _: self.new_scene(), names="value")
        self._observe(self.knob)
        what = self.spec["what"]
        heading = widgets.HTML(f"<h3>{what[0].upper()}{what[1:]}</h3>")
        right = widgets.VBox([self.knob, self.seed, self.prediction, self.bars.widget, self.curve, self.verdict],
                             layout=widgets.Layout(width="440px"))
        self.widget = widgets.VBox([heading, widgets.HBox([self.image, right])])
        self.new_scene()

    @property
    def true_class(self) -> str:
        return self.spec["true"]

    @one_thread
    def new_scene(self) -> None:
        """A new seed: recompute the sweep curve, then :meth:`update`."""
        self.sweep_frame, _ = sweep(self.model, self.name, KNOB_VALUES, [int(self.seed.value)], self.size)
        # one colour scale for the seed, the realistic scene's: with each image's own, the unchanged
        # background turned from light to dark as the knob raised the image's maximum
        realistic = self.scene(1.0).data
        self.limits = (float(np.nanmin(realistic)), float(np.nanmax(realistic)))
        self.verdict.value = f"<small>{html.escape(self.seed_verdict())}</small>"
        self.update()

    def seed_verdict(self) -> str:
        """What this seed's sweep says of the paper's explanation, in words (notebook 07 asks it over several seeds)."""
        at = {v: str(self.sweep_frame.loc[np.isclose(self.sweep_frame["value"], v), "predicted"].iloc[0]) for v in (0.0, 1.0)}
        true, feature = self.true_class, self.spec["what"].split(" around ")[0].split(" behind ")[0]
        if at[1.0] == true:
            return (f"With this network and seed the realistic scene is classified correctly ({true}): it is not fooled, "
                    f"so this seed cannot test whether the {feature} fools it. Try another seed, or turn the knob up.")
        restored = at[0.0] == true
        return (f"With this network and seed the realistic scene is called {at[1.0]}, and with the {feature} removed "
                f"{at[0.0]}: removing it {'restores' if restored else 'does not restore'} the true class here. "
                "Other seeds can differ; notebook 07 counts them.")

    def scene(self, value: float | None = None):
        """The AIA map at the knob's value (or at ``value``)."""
        value = float(self.knob.value) if value is None else value
        return images.aia_map(self.spec["kind"], int(self.seed.value), self.size, **{self.name: value})

    @one_thread
    def update(self) -> None:
        """Render the scene at the knob's value, classify it, redraw image and curve."""
        value = float(self.knob.value)
        smap = self.scene()
        probabilities = self.classify(smap)
        self.image.value = draw_map(smap, f"{smap.latex_name}, {self.name} \u00d7{value:.1f} (colours: the realistic scene's range)",
                                    limits=self.limits)
        k = self.class_names.index(self.true_class)
        self.curve.value = draw_curve(self.sweep_frame["value"], self.sweep_frame["p_true"], value, f"{self.name} (1 = realistic)",
                                      f"p({self.true_class})", f"Probability of the true class against the {self.name}, seed {self.seed.value}",
                                      current_y=float(probabilities[k]), marks={"realistic": 1.0})
        self.show_prediction(probabilities, self.true_class)  # last: the page's prediction line changes when all is drawn


class FoolDemo:
    """Demo 3: the two knobs of the paper's AIA failures, one panel each (:class:`KnobDemo`)."""

    def __init__(self, demo: DemoModel, seed: int = 0) -> None:
        self.plage = KnobDemo(demo, "plage", seed=seed)
        self.corona = KnobDemo(demo, "corona", seed=seed)
        self.model_note = widgets.HTML(f"<small>{html.escape(demo.note)}</small>")
        self.widget = widgets.VBox([self.plage.widget, self.corona.widget, self.model_note])


def model_with_progress(profile: str | None = None) -> DemoModel:
    """:func:`load_demo_model` for a notebook: says so and shows a progress bar when it must train one."""
    if find_model(profile) is not None:
        return load_demo_model(profile)
    label = widgets.HTML("No trained model was found (notebooks 01-02 make one): training a small demo network on simulated images...")
    bar = widgets.IntProgress(value=0, min=0, max=1, description="training", bar_style="info")
    display(widgets.VBox([label, bar]))

    def step(done: int, total: int, message: str) -> None:
        bar.max, bar.value = total, done
        label.value = f"No trained model was found: training a small demo network on simulated images... {html.escape(message)}"

    demo = load_demo_model(profile, on_step=step)
    bar.bar_style = "success"
    label.value = html.escape(demo.note)
    return demo
