"""Real BBSO full-disc H-alpha images with expert filament outlines, cut into labelled crops.

The PyPI package ``filament-augmentation-engine`` (0.0.3, a 22.5 MB wheel) installs, as
``data_files`` beside the environment's ``site-packages`` (``<prefix>/petdata``), 16 full-disc
H-alpha observations from the Big Bear Solar Observatory (1-9 August 2015, 2048 x 2048 JPEG,
about 1 arcsec per pixel) and a COCO-style JSON file of filament outlines drawn by experts
(with their chirality, L / U / R). Install it without its heavy dependencies (torchvision,
opencv, pycocotools), none of which is needed to read the files::

    pip install --no-deps filament-augmentation-engine

Each observation comes in two products with the same pointing:

``fl``
    the full-disc image as observed, limb darkening included, roughly linear in intensity;
``fr``
    a display product with limb darkening removed and contrast stretched non-linearly
    (saturated at 0 and 255); the outlines were drawn on it.

The outlines cover 4 of the 16 observations (101 outlines on 1, 5, 7 and 9 August); the
other 12 have none, so they give neither filament nor quiet crops (a quiet crop must be
known to be free of filaments).

Limb darkening. Crops are cut from the ``fl`` product divided by the disc's limb-darkening
profile (a polynomial in mu = cos(theta) fitted to the median intensity in annuli), so a
crop's pixel values are intensities relative to the local quiet Sun. This is what a
physicist compares with a Hinode/SOT cut-out: SOT's field of view (a few arcminutes) sees
almost no limb-darkening gradient and its images are normalised per image, whereas a
256-arcsec BBSO crop at mu = 0.5 would otherwise carry a 10-20 % ramp that the SOT images do
not have. Dividing (not subtracting) keeps contrasts such as filament / quiet Sun intact,
which the non-linearly stretched ``fr`` product would not.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import cached_property
from importlib import metadata
from pathlib import Path

import astropy.units as u
import numpy as np
import sunpy.map
from astropy.coordinates import SkyCoord
from astropy.time import Time
from scipy import ndimage
from skimage import filters, io, measure, transform
from skimage.draw import polygon2mask
from sunpy.coordinates import frames, sun
from ..progress import tqdm

from ..errors import SlicError

log = logging.getLogger(__name__)

DISTRIBUTION = "filament-augmentation-engine"
"""The PyPI distribution that ships the images."""

INSTALL_COMMAND = f"pip install --no-deps {DISTRIBUTION}"
"""How to install it (its declared dependencies are not needed to read its data files)."""

ANNOTATIONS_FILE = "2015_chir_data2.json"
"""The COCO-style JSON file of filament outlines, at the top of the data folder."""

CHIRALITY = {-1: "L", 0: "U", 1: "R"}
"""COCO category id -> filament chirality (left-handed, unknown, right-handed)."""

WAVELENGTH_ANGSTROM = 6563.0
_NAME = re.compile(r"bbso_halph_(?P<variant>fl|fr)_(?P<date>\d{8})_(?P<time>\d{6})\.jpg$")


@dataclass(frozen=True)
class Outline:
    """One expert-drawn filament outline on a BBSO image.

    Coordinates are image pixels ``(x, y) = (column, row)`` with row 0 at the top of the
    JPEG (solar north up, east left).
    """

    polygon: np.ndarray
    """(N, 2) vertices as (x, y) pixels."""
    bbox: tuple[float, float, float, float]
    """(x, y, width, height) in pixels, as in the COCO file."""
    chirality: str
    """"L", "R" or "U" (unknown)."""
    annotation_id: int


@dataclass
class BBSOImage:
    """One full-disc BBSO H-alpha observation with its filament outlines and fitted disc."""

    data: np.ndarray
    """(2048, 2048) float32 image, row 0 at the top (as stored in the JPEG), 0-255 counts."""
    time: datetime
    """Observation time (UTC), from the file name."""
    outlines: list[Outline]
    """Expert filament outlines (empty for the observations nobody annotated)."""
    centre: tuple[float, float]
    """Disc centre (x, y) in pixels, from a circle fitted to the limb."""
    radius: float
    """Disc radius in pixels, from the same fit."""
    path: Path
    """The JPEG file this was read from."""
    variant: str = "fl"
    """"fl" (as observed) or "fr" (flattened, contrast-stretched display product)."""
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def day(self) -> str:
        """Observation day as ``YYYY-MM-DD``; the unit of a train / test split."""
        return self.time.date().isoformat()

    @property
    def annotated(self) -> bool:
        """Whether experts outlined filaments on this observation."""
        return bool(self.outlines)

    @cached_property
    def scale(self) -> float:
        """Plate scale in arcsec per pixel: the Sun's apparent radius that day / fitted radius."""
        return float(sun.angular_radius(_astropy_time(self.time)).to_value("arcsec")) / self.radius

    def rho(self) -> np.ndarray:
        """Distance of every pixel from the disc centre, in units of the disc radius."""
        yy, xx = np.indices(self.data.shape, dtype=np.float32)
        return np.hypot(xx - self.centre[0], yy - self.centre[1]) / self.radius

    def outline_mask(self) -> np.ndarray:
        """Boolean image, True inside any filament outline."""
        if "outlines" not in self._cache:
            mask = np.zeros(self.data.shape, dtype=bool)
            for outline in self.outlines:
                mask |= polygon2mask(self.data.shape, outline.polygon[:, ::-1])
            self._cache["outlines"] = mask
        return self._cache["outlines"]

    def flattened(self) -> np.ndarray:
        """The image divided by its limb-darkening profile (1 = quiet Sun; 0 off the disc).

        The profile is a quartic polynomial in mu fitted to the median intensity of thin
        annuli out to 0.99 radius; medians make it insensitive to filaments and plage.
        """
        if "flat" not in self._cache:
            rho = self.rho()
            profile = limb_darkening_profile(self.data, rho)
            with np.errstate(invalid="ignore"):
                mu = np.sqrt(np.clip(1.0 - rho**2, 0.0, 1.0))
            flat = np.zeros_like(self.data)
            on = rho < 1.0
            flat[on] = self.data[on] / np.maximum(profile(mu[on]), 1e-3)
            self._cache["flat"] = flat.astype(np.float32)
        return self._cache["flat"]


def _astropy_time(time: datetime):
    return Time(time.replace(tzinfo=None), scale="utc")


def limb_darkening_profile(
    image: np.ndarray, rho: np.ndarray, n_annuli: int = 60, degree: int = 4
) -> np.polynomial.Polynomial:
    """Fit I(mu) to the median intensity of annuli of a full-disc image.

    Parameters
    ----------
    image : ndarray
        Full-disc image.
    rho : ndarray
        Distance of each pixel from the disc centre in disc radii.
    n_annuli : int
        Number of annuli between the centre and 0.99 radius.
    degree : int
        Degree of the polynomial in mu.

    Returns
    -------
    numpy.polynomial.Polynomial
        Intensity as a function of mu = sqrt(1 - rho**2).
    """
    edges = np.linspace(0.0, 0.99, n_annuli + 1)
    index = np.digitize(rho, edges) - 1
    inside = (index >= 0) & (index < n_annuli)
    medians = ndimage.median(image[inside], labels=index[inside], index=np.arange(n_annuli))
    centres = 0.5 * (edges[1:] + edges[:-1])
    mu = np.sqrt(1.0 - centres**2)
    return np.polynomial.Polynomial.fit(mu, np.asarray(medians), degree)


# --------------------------------------------------------------------------- locating


def available() -> bool:
    """Whether ``filament-augmentation-engine`` and its data files are installed."""
    try:
        locate()
    except SlicError:
        return False
    return True


def locate() -> Path:
    """Folder holding the BBSO images and the outline JSON file (``<prefix>/petdata``).

    The package installs its data as ``data_files`` outside ``site-packages``, so the folder
    is found from the distribution's installed-file record, wherever the environment is.

    Raises
    ------
    SlicError
        If the package or its data files are not installed.
    """
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise SlicError(
            f"The real BBSO H-alpha images are not installed; run `{INSTALL_COMMAND}`."
        ) from None
    for item in dist.files or ():
        if item.name == ANNOTATIONS_FILE:
            path = Path(dist.locate_file(item)).resolve()
            if path.is_file():
                return path.parent
    raise SlicError(
        f"{DISTRIBUTION} is installed but its data files are missing; reinstall it with "
        f"`{INSTALL_COMMAND} --force-reinstall`."
    )


# --------------------------------------------------------------------------- loading


def _parse_name(path: Path) -> tuple[str, datetime]:
    match = _NAME.search(path.name)
    if match is None:
        raise SlicError(f"{path} is not a BBSO H-alpha file name (bbso_halph_fl_YYYYMMDD_HHMMSS.jpg).")
    stamp = datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M%S")
    return match["variant"], stamp.replace(tzinfo=timezone.utc)


def _read_outlines(json_path: Path) -> dict[str, list[Outline]]:
    """Outlines per JPEG base name (the JSON names each file ``YYYY,MM,DD,name.jpg``)."""
    coco = json.loads(json_path.read_text())
    names = {image["id"]: image["file_name"].split(",")[-1] for image in coco["images"]}
    outlines: dict[str, list[Outline]] = {}
    for ann in coco["annotations"]:
        x, y, w, h = (float(v) for v in ann["bbox"])
        if ann.get("segmentation"):
            polygon = np.asarray(ann["segmentation"][0], dtype=np.float64).reshape(-1, 2)
        else:  # one outline in the file has no polygon: fall back on its box
            polygon = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
        outline = Outline(polygon, (x, y, w, h), CHIRALITY.get(ann["category_id"], "U"), int(ann["id"]))
        outlines.setdefault(names[ann["image_id"]], []).append(outline)
    return outlines


def fit_limb(image: np.ndarray, rng: int | np.random.Generator | None = 0) -> tuple[tuple[float, float], float]:
    """Fit the solar limb of a full-disc image with a circle.

    The disc is the largest connected region above half the Otsu threshold (which leaves
    out the burnt-in labels in the corners); its boundary is fitted with a RANSAC circle
    so that prominences and notches at the limb do not pull the fit.

    Returns
    -------
    centre : (float, float)
        (x, y) in pixels.
    radius : float
        In pixels.
    """
    on = image > 0.5 * filters.threshold_otsu(image)
    labels, n = ndimage.label(on)
    if n == 0:
        raise SlicError("No solar disc found in the image; is it a full-disc observation?")
    sizes = ndimage.sum(on, labels, index=np.arange(1, n + 1))
    disc = ndimage.binary_fill_holes(labels == 1 + int(np.argmax(sizes)))
    boundary = max(measure.find_contours(disc.astype(np.uint8), 0.5), key=len)
    model, _ = measure.ransac(
        boundary[:, ::-1], measure.CircleModel, min_samples=3, residual_threshold=2.0, max_trials=200, rng=rng
    )
    if model is None:
        raise SlicError("The solar limb could not be fitted with a circle.")
    return (float(model.center[0]), float(model.center[1])), float(model.radius)


def load_days(variant: str = "fl", annotated_only: bool = False, progress: bool = False) -> list[BBSOImage]:
    """Read the BBSO observations with their outlines and fitted discs, in time order.

    Parameters
    ----------
    variant : {"fl", "fr"}
        "fl": as observed (use for physics); "fr": the contrast-stretched product the
        outlines were drawn on (same pointing).
    annotated_only : bool
        Keep only the 4 observations with outlines.
    progress : bool
        Show a progress bar (reading and fitting takes about 0.5 s per image).

    Returns
    -------
    list of BBSOImage
    """
    if variant not in ("fl", "fr"):
        raise SlicError(f"Unknown BBSO product {variant!r}; use 'fl' (as observed) or 'fr' (contrast-stretched).")
    root = locate()
    outlines = _read_outlines(root / ANNOTATIONS_FILE)
    paths = sorted(root.glob(f"sample/*/*/*/bbso_halph_{variant}_*.jpg"), key=lambda p: p.name)
    images = []
    for path in tqdm(paths, desc="BBSO images", disable=not progress):
        _, time = _parse_name(path)
        annotated = outlines.get(path.name.replace(f"_{variant}_", "_fr_"), [])
        if annotated_only and not annotated:
            continue
        data = io.imread(path).astype(np.float32)
        if data.ndim == 3:
            data = data[..., :3].mean(axis=-1)
        centre, radius = fit_limb(data)
        images.append(BBSOImage(data, time, annotated, centre, radius, path, variant))
    log.info("read %d BBSO images from %s", len(images), root)
    return images


# --------------------------------------------------------------------------- crops


@dataclass
class Crop:
    """A square, labelled cut-out of a flattened BBSO image."""

    data: np.ndarray
    """(size, size) float32 intensity relative to the quiet Sun, row 0 at the top (north up)."""
    label: str
    """A class name of :data:`slic_lib.classes.CLASSES`: "filaments" or "quiet"."""
    time: datetime
    mask: np.ndarray
    """(size, size) bool, True inside the expert filament outlines (all of them, not only
    the one the crop was cut for)."""
    origin: tuple[int, int]
    """(x, y) of the crop's top-left pixel in the full-disc image."""
    side: int
    """Side of the cut-out in full-disc pixels (larger than ``size`` when it was shrunk to fit)."""
    scale: float
    """Arcsec per pixel of ``data``."""
    centre_hpc: tuple[float, float]
    """Helioprojective (Tx, Ty) of the crop centre in arcsec, from the fitted disc."""
    on_disc: bool
    """True when the whole square lies inside the limb."""
    source: Path
    annotation_id: int | None = None
    """The outline a filament crop was cut around (None for quiet crops)."""

    @property
    def day(self) -> str:
        """Observation day as ``YYYY-MM-DD``."""
        return self.time.date().isoformat()


def _corner_rho(x0: np.ndarray, y0: np.ndarray, side: int, image: BBSOImage) -> np.ndarray:
    """Largest distance (in disc radii) of the four corners of squares at (x0, y0)."""
    cx, cy = image.centre
    far_x = np.maximum(np.abs(x0 - 0.5 - cx), np.abs(x0 + side - 0.5 - cx))
    far_y = np.maximum(np.abs(y0 - 0.5 - cy), np.abs(y0 + side - 0.5 - cy))
    return np.hypot(far_x, far_y) / image.radius


def _place_square(outline: Outline, side: int, image: BBSOImage, limb: float) -> tuple[int, int]:
    """Top-left corner of a ``side`` square containing the outline's box, inside ``limb`` if possible.

    Among the squares that contain the box, those wholly inside ``limb`` radii are preferred,
    and among them the most centred on the box; otherwise the one reaching least far out.
    """
    x, y, w, h = outline.bbox
    xs = np.linspace(np.ceil(x + w) - side, np.floor(x), 15)
    ys = np.linspace(np.ceil(y + h) - side, np.floor(y), 15)
    x0, y0 = (np.round(a).astype(int) for a in np.meshgrid(xs, ys))
    height, width = image.data.shape
    x0, y0 = np.clip(x0, 0, width - side), np.clip(y0, 0, height - side)
    reach = _corner_rho(x0, y0, side, image)
    off_centre = np.hypot(x0 + side / 2 - (x + w / 2), y0 + side / 2 - (y + h / 2))
    score = np.where(reach <= limb, off_centre, 1e6 + reach)
    best = np.unravel_index(np.argmin(score), score.shape)
    return int(x0[best]), int(y0[best])


def _cut(image: BBSOImage, x0: int, y0: int, side: int, size: int, label: str, annotation_id: int | None) -> Crop:
    flat = image.flattened()[y0 : y0 + side, x0 : x0 + side]
    mask = image.outline_mask()[y0 : y0 + side, x0 : x0 + side]
    if side != size:
        flat = transform.resize(flat, (size, size), anti_aliasing=True, preserve_range=True)
        mask = transform.resize(mask, (size, size), order=0, anti_aliasing=False) > 0
    centre_x, centre_y = x0 + (side - 1) / 2, y0 + (side - 1) / 2
    scale = image.scale
    hpc = ((centre_x - image.centre[0]) * scale, (image.centre[1] - centre_y) * scale)
    return Crop(
        data=np.ascontiguousarray(flat, dtype=np.float32),
        label=label,
        time=image.time,
        mask=np.ascontiguousarray(mask, dtype=bool),
        origin=(x0, y0),
        side=side,
        scale=scale * side / size,
        centre_hpc=hpc,
        on_disc=bool(_corner_rho(np.array(x0), np.array(y0), side, image) <= 1.0),
        source=image.path,
        annotation_id=annotation_id,
    )


def filament_crops(image: BBSOImage, size: int = 256, margin: float = 0.25, limb: float = 0.98) -> list[Crop]:
    """One crop per outline: its box grown to a square with ``margin`` on each side.

    The square is at least ``size`` pixels (native scale); a filament longer than that is
    cut with a larger square shrunk to ``size`` (``Crop.scale`` records the coarser scale).
    """
    crops = []
    for outline in image.outlines:
        _, _, w, h = outline.bbox
        side = max(size, int(np.ceil(max(w, h) * (1 + 2 * margin))))
        side = min(side, *image.data.shape)
        x0, y0 = _place_square(outline, side, image, limb)
        crops.append(_cut(image, x0, y0, side, size, "filaments", outline.annotation_id))
    return crops


def quiet_crops(
    image: BBSOImage,
    n: int,
    rng: np.random.Generator,
    size: int = 256,
    limb: float = 0.9,
    clearance: int = 10,
    plage_ratio: float = 1.3,
    dark_ratio: float = 0.75,
    max_tries: int = 2000,
) -> list[Crop]:
    """Up to ``n`` non-overlapping quiet-Sun crops of an annotated image.

    A random square is rejected when it reaches beyond ``limb`` disc radii, comes within
    ``clearance`` pixels of any filament outline, when its 99th intensity percentile exceeds
    ``plage_ratio`` times the disc's median flattened intensity (plage, flare) or its 1st
    percentile falls below ``dark_ratio`` times it (a sunspot or a filament nobody outlined),
    or when it overlaps a quiet crop already taken.
    """
    if not image.annotated:
        return []  # without outlines, a crop cannot be known to be free of filaments
    flat = image.flattened()
    reference = float(np.median(flat[image.rho() < limb]))
    forbidden = ndimage.binary_dilation(image.outline_mask(), iterations=clearance)
    height, width = flat.shape
    taken: list[tuple[int, int]] = []
    crops: list[Crop] = []
    for _ in range(max_tries):
        if len(crops) == n:
            break
        x0, y0 = int(rng.integers(0, width - size + 1)), int(rng.integers(0, height - size + 1))
        if _corner_rho(np.array(x0), np.array(y0), size, image) > limb:
            continue
        if any(abs(x0 - tx) < size and abs(y0 - ty) < size for tx, ty in taken):
            continue
        if forbidden[y0 : y0 + size, x0 : x0 + size].any():
            continue
        low, high = np.percentile(flat[y0 : y0 + size, x0 : x0 + size], [1, 99]) / reference
        if high > plage_ratio or low < dark_ratio:
            continue
        taken.append((x0, y0))
        crops.append(_cut(image, x0, y0, size, size, "quiet", None))
    if len(crops) < n:
        log.info("only %d of %d quiet crops fit on %s", len(crops), n, image.path.name)
    return crops


def crops(
    size: int = 256,
    quiet_per_image: int = 8,
    rng: int | np.random.Generator | None = 0,
    images: Sequence[BBSOImage] | None = None,
    progress: bool = False,
    **quiet_options,
) -> list[Crop]:
    """Labelled filament and quiet-Sun crops of the annotated BBSO observations.

    Parameters
    ----------
    size : int
        Side of every crop in pixels (about 1 arcsec each).
    quiet_per_image : int
        Quiet-Sun crops wanted per annotated observation (fewer when they do not fit).
    rng : int, Generator or None
        Seed or generator for the quiet-Sun positions.
    images : sequence of BBSOImage, optional
        Observations already read with :func:`load_days` (default: read them).
    progress : bool
        Show a progress bar.
    **quiet_options
        Passed to :func:`quiet_crops` (``limb``, ``clearance``, ``plage_ratio``, ``dark_ratio``).

    Returns
    -------
    list of Crop
        Filament crops (one per outline), then quiet crops, image by image.
    """
    rng = np.random.default_rng(rng)
    if images is None:
        images = load_days(annotated_only=True, progress=progress)
    result: list[Crop] = []
    for image in tqdm([im for im in images if im.annotated], desc="BBSO crops", disable=not progress):
        result += filament_crops(image, size=size)
        result += quiet_crops(image, quiet_per_image, rng, size=size, **quiet_options)
    return result


def split_by_day(crops: Iterable[Crop], test_days: Iterable[str | date] | None = None) -> tuple[list[Crop], list[Crop]]:
    """Split crops into train and test sets with no observing day in both.

    Parameters
    ----------
    crops : iterable of Crop
    test_days : iterable of str ("YYYY-MM-DD") or date, optional
        Days that go to the test set (default: the last day present).

    Returns
    -------
    train, test : list of Crop
    """
    crops = list(crops)
    present = sorted({c.day for c in crops})
    if test_days is None:
        wanted = set(present[-1:])
    else:
        wanted = {d.isoformat() if isinstance(d, date) else str(d) for d in test_days}
    unknown = sorted(wanted - set(present))
    if unknown:
        raise SlicError(f"No crops from {', '.join(unknown)}; the days present are {', '.join(present)}.")
    return [c for c in crops if c.day not in wanted], [c for c in crops if c.day in wanted]


def crop_map(crop: Crop):
    """The crop as a :class:`sunpy.map.GenericMap` with a helioprojective WCS (north up).

    The rows are flipped so that row 0 is the southernmost, as FITS and sunpy expect.
    """
    time = _astropy_time(crop.time)
    centre = SkyCoord(
        crop.centre_hpc[0] * u.arcsec,
        crop.centre_hpc[1] * u.arcsec,
        frame=frames.Helioprojective(obstime=time, observer="earth"),
    )
    header = sunpy.map.make_fitswcs_header(
        np.flipud(crop.data),
        centre,
        scale=[crop.scale, crop.scale] * u.arcsec / u.pix,
        telescope="BBSO",
        instrument="BBSO",
        wavelength=WAVELENGTH_ANGSTROM * u.AA,
    )
    header["object"] = crop.label
    header["srcfile"] = crop.source.name
    if crop.annotation_id is not None:
        header["annot_id"] = str(crop.annotation_id)
    return sunpy.map.Map(np.flipud(crop.data), header)


def write_fits_tree(crops: Iterable[Crop], outdir: str | Path, progress: bool = False) -> list[Path]:
    """Write crops as ``outdir/<label>/<name>.fits``, one folder per class, readable by sunpy.

    Returns
    -------
    list of Path
        The files written (existing files of the same name are overwritten).
    """
    outdir = Path(outdir)
    written = []
    for crop in tqdm(list(crops), desc="writing FITS", disable=not progress):
        folder = outdir / crop.label
        folder.mkdir(parents=True, exist_ok=True)
        tag = f"a{crop.annotation_id}" if crop.annotation_id is not None else f"x{crop.origin[0]}y{crop.origin[1]}"
        path = folder / f"bbso_{crop.time:%Y%m%d_%H%M%S}_{crop.label}_{tag}.fits"
        crop_map(crop).save(path, overwrite=True)
        written.append(path)
    return written
