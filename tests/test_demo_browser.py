"""End to end in a real browser: Voilà serves the student demos, headless Chromium moves a slider.

Voilà (``python -m voila notebooks --no-browser``) runs on a free localhost port with
``SLIC_DATA`` pointing at a temporary folder that holds one model; Playwright drives Debian's
``chromium`` through its executable path. The test opens every demo, saves a screenshot of
each (``figures/demos/<demo>.png``, trimmed and in 128 colours: the README's pictures, copied to
``docs/demos/``), and on demo 3 moves the plage
slider with the keyboard and waits for the prediction line to change, and on demo 2 presses the
SOT -> AIA button and waits for the degraded image.

The model is the selected one of this checkout (:func:`slic_lib.widgets.find_model`) when
there is one, so the screenshots show a trained network, else a randomly initialised network
of the smoke profile's shape: the test checks the plumbing (notebook -> Voilà -> widgets ->
kernel -> network -> page), not what the network learned (``test_widgets.py`` does that).

When Chromium, Playwright or Voilà is missing the test fails under CI (``$CI`` set: ``.ci/run``
installs them) and is skipped with the reason otherwise.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch

from slic_lib.model import Checkpoint, ModelConfig, SlicNet, save_checkpoint
from slic_lib.paths import ROOT, figures_root
from slic_lib.profiles import get_profile
from slic_lib.widgets import find_model

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("SLIC_CHROMIUM", "/usr/bin/chromium")
DEMOS = ("demo_1_classify", "demo_2_resolution", "demo_3_fool_the_network", "demo_4_saliency")
START_TIMEOUT = 60.0
PAGE_TIMEOUT_MS = 90_000


def _missing() -> str | None:
    if not Path(CHROMIUM).is_file() and shutil.which("chromium") is None:
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    for module in ("playwright", "voila"):
        if importlib.util.find_spec(module) is None:
            return f"the Python package {module} is not installed"
    return None


def _require_browser() -> str:
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test cannot run in CI: {reason}")
        pytest.skip(reason)
    return CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _model_folder(root: Path) -> None:
    """``root/models/<profile>/best.pt``: this checkout's selected model, else a random smoke-shaped one."""
    profile = get_profile("smoke")
    target = root / "models" / profile.name / "best.pt"
    target.parent.mkdir(parents=True)
    found = find_model()
    if found is not None:
        shutil.copy(found, target)
        return
    torch.manual_seed(0)
    net = SlicNet(ModelConfig(arch=profile.arch, input_size=profile.input_size, width=profile.width, hidden=profile.hidden))
    save_checkpoint(Checkpoint(net.state_dict(), net.config, net.preprocessing, metrics={"note": "random weights (browser test)"}), target)


@contextlib.contextmanager
def voila_server(data: Path):
    """Voilà serving ``notebooks/`` on a free port; yields its base URL; stopped (its process group) after."""
    port = _free_port()
    env = {**os.environ, "SLIC_DATA": str(data), "SLIC_PROFILE": "smoke", "MPLBACKEND": "agg",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    log = (data / "voila.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(ROOT / "notebooks"), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
         "--show_tracebacks=True"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"Voilà exited with {proc.returncode}: {(data / 'voila.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(base, timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"Voilà did not answer on {base} within {START_TIMEOUT:.0f} s") from None
                time.sleep(0.3)
        yield base
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        log.close()


def _save_screenshot(png: bytes, path: Path) -> None:
    """Save a page's screenshot trimmed to its content, in 128 colours (the README shows these, ~100 kB each)."""
    from PIL import Image, ImageChops

    image = Image.open(io.BytesIO(png)).convert("RGB")
    box = ImageChops.difference(image, Image.new("RGB", image.size, (255, 255, 255))).getbbox()
    assert box is not None, f"{path.name}: the page is blank"
    left, top, right, bottom = box
    image = image.crop((max(0, left - 10), max(0, top - 10), min(image.width, right + 10), min(image.height, bottom + 10)))
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    assert path.stat().st_size > 10_000


def _prediction(page, index: int = 0) -> str:
    return page.locator(".slic-prediction").nth(index).inner_text().strip()


def test_demos_in_chromium(tmp_path):
    executable = _require_browser()
    from playwright.sync_api import sync_playwright

    _model_folder(tmp_path)
    shots = figures_root() / "demos"
    shots.mkdir(parents=True, exist_ok=True)
    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with voila_server(tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=args)
        try:
            # every demo's page (and so its kernel) starts at once; then each is checked in turn
            pages = {}
            for name in DEMOS:
                pages[name] = browser.new_page(viewport={"width": 1150, "height": 1500})
                pages[name].goto(f"{base}/voila/render/{name}.ipynb", wait_until="commit", timeout=PAGE_TIMEOUT_MS)
            for name, page in pages.items():
                page.locator(".slic-prediction").first.wait_for(timeout=PAGE_TIMEOUT_MS)
                page.wait_for_function("() => document.querySelector('.slic-prediction').innerText.includes('Prediction')",
                                       timeout=PAGE_TIMEOUT_MS)
                assert "Traceback" not in page.content(), f"{name} shows a Python error"
                if name == "demo_3_fool_the_network":
                    before = _prediction(page)
                    handle = page.locator(".slic-knob-plage .noUi-handle").first
                    handle.focus()
                    handle.press("End")  # the knob to its maximum (8): strong plage around the sunspot
                    page.wait_for_function(
                        "before => document.querySelector('.slic-prediction').innerText.trim() !== before", arg=before,
                        timeout=PAGE_TIMEOUT_MS,
                    )
                    after = _prediction(page)
                    assert after != before and "Prediction" in after
                    assert page.locator(".slic-knob-plage .widget-readout").first.inner_text().strip() == "8.0"
                if name == "demo_2_resolution":
                    image = page.locator(".widget-image").first
                    before = image.get_attribute("src")
                    page.get_by_role("button", name="SOT \u2192 AIA").click()  # the factor jumps to 3.64
                    page.wait_for_function("([el, before]) => el.getAttribute('src') !== before",
                                           arg=[image.element_handle(), before], timeout=PAGE_TIMEOUT_MS)
                    assert page.locator(".widget-readout").nth(1).inner_text().strip() == "3.64"
                page.wait_for_timeout(300)  # let the browser paint the last images
                _save_screenshot(page.screenshot(full_page=True), shots / f"{name}.png")
        finally:
            browser.close()
