"""Reading users' images safely and faithfully: folders of class sub-folders.

Nothing here trusts its input. Corrupt, truncated and zero-byte images are skipped and
listed with the reason (nothing is dropped silently); huge images are downsampled while
decoding (JPEG draft mode) or refused before their bitmap is allocated. Folders are
walked iteratively to a bounded depth; links are never followed out of the dataset.
Zip archives are handled in :mod:`bench.data.archives`.

Pixels are made faithful before they are resized to the model's input:

* **EXIF orientation** is applied, so a phone photo stored sideways loads upright.
* **High bit depth** grayscale (16-bit ``I;16``, 32-bit integer ``I`` and float ``F``
  images: X-rays, microscopy, depth maps) is scaled linearly to 0..255 by one range for
  the whole dataset, so absolute intensity stays comparable between images (medical and
  scientific images carry meaning in it: two classes at 10,000 and 50,000 stay apart).
  :data:`INTENSITY_SCALES` are the choices, set by ``FOS_INTENSITY`` and stated in the
  dataset analysis: ``dataset`` (the default: the decoded images' joint minimum..maximum,
  so a 12-bit scan in 0..4095 still uses the whole 8-bit range instead of being nearly
  black under a fixed 0..65535), ``format`` (the storage's range: 0..65535 for 16 bits,
  the TIFF's bits per sample; float images, which have none, fall back to the dataset's)
  and ``image`` (each image's own minimum..maximum: contrast only, the old behaviour,
  only when asked for). One image decoded alone is a dataset of one. Non-finite float
  values count as the minimum; a dataset with no range comes out black.
* **Colour**: images with an embedded ICC profile (CMYK print scans, Adobe RGB photos)
  are converted to sRGB through the profile (littleCMS via ``PIL.ImageCms``); without a
  profile, or if the profile is unusable, CMYK is converted with PIL's plain formula.
  Transparency is composited on white.
"""

from __future__ import annotations

import functools
import io
import os
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from advisor.constraints import excerpt
from bench.errors import BenchInputError, ConfigError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")
# Decoded pixels allowed per image. Larger JPEGs are decoded at 1/2..1/8 scale (draft
# mode) to fit; other formats above it are refused: their full bitmap would be allocated.
MAX_PIXELS = 40_000_000
MAX_SCAN_DEPTH = 32  # folders below a class folder; deeper ones are listed as ignored
# Files and folders a dataset scan looks at before it stops: ``--dataset /`` is refused in seconds,
# not after walking the whole file system. 4x a zip's member limit; FOS_MAX_SCAN_FILES raises it.
MAX_SCAN_ENTRIES = 200_000
HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
INTENSITY_SCALES = ("dataset", "format", "image")  # how high-bit-depth images map to 0..255 (module docstring)
ORIENTATION_TAG = 0x0112
SEED = 0  # the file subset a train_limit asks for is the same for every arm and seed
EXTRACTED_MARKER = ".complete"  # written by bench.data.archives into a finished extraction; not the user's


class DecodeCancelled(Exception):
    """The caller's ``should_stop`` asked to stop while a dataset was being read or extracted."""


@dataclass
class FolderScan:
    """What a folder of class sub-folders holds, and what was skipped and why."""

    class_names: tuple[str, ...]
    files: list[tuple[Path, int]]  # (path, class index)
    ignored: list[str] = field(default_factory=list)  # non-image files, links, too-deep folders
    skipped: list[str] = field(default_factory=list)  # unreadable images, with the reason
    root: Path | None = None  # names in messages are relative to it

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root)) if self.root else path.name


def decode_image(path: Path, size: int, intensity: str = "dataset") -> np.ndarray:
    """Decode one image to RGB uint8 (size x size), compositing transparency on white.

    A high-bit-depth image alone is scaled by its own range (``dataset``: a dataset of one) or
    its format's (``format``). Raises OSError/ValueError for corrupt files, or for images too
    large to decode safely.
    """
    return decode_image_and_side(path, size, intensity)[0]


def decode_image_and_side(
    path: Path, size: int, intensity: str = "dataset"
) -> tuple[np.ndarray, int, tuple[float, float, bool] | None]:
    """:func:`decode_image`, plus the image's shorter side in pixels as stored (its native size), and for
    a high-bit-depth image the (low, high, own) range it was scaled by (None for 8-bit images); ``own``
    is True when that was its own minimum..maximum, which :func:`load_images` re-maps under ``dataset``."""
    if path.stat().st_size == 0:
        raise ValueError("zero-byte file")
    with warnings.catch_warnings():
        # We apply our own, lower limit below; PIL still raises DecompressionBombError for
        # images past twice its own limit, before allocating anything.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.simplefilter("ignore", UserWarning)  # e.g. "Corrupt EXIF data": the pixels still decode
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                if image.format == "JPEG":
                    image.draft("RGB", (size * 4, size * 4))  # decode at reduced scale
                if image.size[0] * image.size[1] > MAX_PIXELS:
                    raise ValueError(
                        f"{width}x{height} pixels is over the {MAX_PIXELS:,}-pixel limit; "
                        "downscale it first (large JPEGs are downsampled automatically)"
                    )
            image.seek(0)  # first frame of animated GIF/WebP
            image.load()
            if image.getexif().get(ORIENTATION_TAG, 1) in range(2, 9):
                image = ImageOps.exif_transpose(image)
            if image.mode in HIGH_DEPTH_MODES:
                small, span = _scaled_to_8_bits(image, size, intensity)
                return np.asarray(small.convert("RGB"), dtype=np.uint8), min(width, height), span
            small = _to_small_rgb(image, size)
    return np.asarray(small, dtype=np.uint8), min(width, height), None


def _to_small_rgb(image: Image.Image, size: int) -> Image.Image:
    icc = image.info.get("icc_profile")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba).convert("RGB")
    elif image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    # Resizing before the colour transform costs ~nothing in accuracy and much less time.
    image = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(image, source, _srgb(), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # an unusable profile: the plain conversion below is the best guess left
    return image.convert("RGB")


def format_range(image: Image.Image) -> tuple[float, float] | None:
    """The range a high-bit-depth image's storage can hold (None for float images, which have none)."""
    if image.mode.startswith("I;16"):
        return 0.0, 65535.0
    if image.mode == "I":
        tags = getattr(image, "tag_v2", {})
        bits = tags.get(258, (32,))
        bits = int(bits[0] if isinstance(bits, tuple) else bits)
        signed = tags.get(339, (1,))
        if int(signed[0] if isinstance(signed, tuple) else signed) == 2:  # SampleFormat 2: signed integers
            return -(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1
        if image.format == "PNG":  # PNG has no 32-bit samples: an I image from a PNG held 16 bits
            return 0.0, 65535.0
        return 0.0, 2.0**bits - 1
    return None


def _scaled_to_8_bits(
    image: Image.Image, size: int, intensity: str = "dataset"
) -> tuple[Image.Image, tuple[float, float, bool]]:
    """Linear low..high -> 0..255 of a high-bit-depth grayscale image, and (low, high, whether it was its own).

    The range is the format's under ``format`` (when it has one), else the image's own finite
    minimum..maximum, which :func:`load_images` replaces by the dataset's under ``dataset``.
    """
    values = np.asarray(image)
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        if not finite.any():
            raise ValueError("no finite pixel values")
        low, high = float(values[finite].min()), float(values[finite].max())
        values = np.where(finite, values, low)
    else:
        low, high = float(values.min()), float(values.max())
    fixed = format_range(image) if intensity == "format" else None
    if fixed is not None:
        low, high = fixed
    plane = Image.fromarray(values.astype(np.float32))
    small = np.asarray(plane.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0), dtype=np.float64)
    scaled = (small - low) * (255.0 / (high - low)) if high > low else np.zeros_like(small)
    quantised = Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))
    return quantised, (low, high, fixed is None)


def rescale_to_range(pixels: np.ndarray, own: tuple[float, float], common: tuple[float, float]) -> None:
    """Re-map, in place, uint8 pixels scaled by their image's own range onto a common (dataset) range.

    Rounding twice costs at most one level of 255: the image's own range lies inside the
    common one, so its 256 levels land on no more than 256 target levels.
    """
    (low, high), (lowest, highest) = own, common
    if highest <= lowest:
        pixels[...] = 0
        return
    if high > low:
        source = low + pixels.astype(np.float64) * ((high - low) / 255.0)
    else:  # a constant image: every pixel is its one value
        source = np.full(pixels.shape, low, dtype=np.float64)
    pixels[...] = np.clip(np.rint((source - lowest) * (255.0 / (highest - lowest))), 0, 255).astype(np.uint8)


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def scan_folder(
    root: Path,
    max_depth: int = MAX_SCAN_DEPTH,
    should_stop: Callable[[], bool] | None = None,
    name: str | None = None,
) -> FolderScan:
    """List the images of a folder with one sub-folder per class (nothing is decoded).

    A single wrapping folder (as zips often have) is looked through. Symbolic links to
    files are listed as ignored; a class folder that links outside the dataset is refused.
    ``name`` is how messages call the dataset (the .zip a folder was extracted from).
    """
    name = name or str(root)
    if not root.is_dir():
        raise BenchInputError(f"{name}: not a folder; expected a folder with one sub-folder per class, or a .zip")
    base = root.resolve()
    top = root
    for _ in range(max_depth):  # look through wrapping folders, iteratively
        class_dirs, top_files = _class_dirs(top, base, name)
        if len(class_dirs) != 1 or any(_is_image(Path(listed)) for listed in top_files):
            break
        inner = class_dirs[0]
        if any(entry.is_file() and _is_image(Path(entry.name)) for entry in _entries(inner)):
            break
        top = inner
    if not class_dirs:
        raise BenchInputError(
            f"{name}: no class sub-folders; expected one sub-folder per class with images in it "
            f"({', '.join(IMAGE_SUFFIXES)})"
        )
    scan = FolderScan(tuple(p.name for p in class_dirs), [], top_files, root=top)
    budget = ScanBudget(name, scan_limit())
    for index, class_dir in enumerate(class_dirs):
        found = _walk_class(class_dir, top, max_depth, scan.ignored, should_stop, budget)
        scan.files.extend((path, index) for path in found)
    return scan


def intensity_scale() -> str:
    """How high-bit-depth images map to 0..255: ``$FOS_INTENSITY`` (one of :data:`INTENSITY_SCALES`), else dataset."""
    text = os.environ.get("FOS_INTENSITY") or "dataset"
    if text not in INTENSITY_SCALES:
        raise BenchInputError(f"FOS_INTENSITY={excerpt(text)}: expected one of {', '.join(INTENSITY_SCALES)}")
    return text


def scan_limit() -> int:
    """:data:`MAX_SCAN_ENTRIES`, or ``$FOS_MAX_SCAN_FILES`` (a whole number >= 1)."""
    text = os.environ.get("FOS_MAX_SCAN_FILES")
    if not text:
        return MAX_SCAN_ENTRIES
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise BenchInputError(f"FOS_MAX_SCAN_FILES={excerpt(text)}: expected a whole number >= 1")
    return value


@dataclass
class ScanBudget:
    """Counts the entries a scan has listed; past the limit the scan stops with a message naming it.

    The message is a field error on ``dataset`` (the command line says ``--dataset``, the app its widget):
    the folder is too large to scan, the bound (files and folders, and the depth), what is accepted and
    what was given (``name``).
    """

    name: str
    limit: int
    seen: int = 0
    accepted: str = "a folder with one sub-folder per class, or a .zip of one"

    def take(self, count: int) -> None:
        self.seen += count
        if self.seen > self.limit:
            raise ConfigError(
                "dataset",
                f"too large to scan: more than {self.limit:,} files and folders under it, scan stopped "
                f"(FOS_MAX_SCAN_FILES raises the limit; folders more than {MAX_SCAN_DEPTH} deep are not scanned); "
                f"expected {self.accepted}; point it at the folder that holds the class sub-folders",
                given=self.name,
            )


def list_files(folder: Path, budget: ScanBudget, max_depth: int = MAX_SCAN_DEPTH) -> tuple[list[Path], list[Path]]:
    """(every file under ``folder``, sorted; the folders left out for being deeper than ``max_depth``).

    Iterative and bounded by ``budget``; links to files are listed, links to folders are not followed
    (as ``Path.rglob`` does, which walked ``--dataset /`` without end).
    """
    files: list[str] = []
    too_deep: list[Path] = []
    stack = [(folder, 0)]
    while stack:
        here, depth = stack.pop()
        try:
            entries = _entries(here)
        except OSError:
            continue  # unreadable: nothing of it is listed (rglob skipped it too)
        budget.take(len(entries))
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if depth + 1 > max_depth:
                    too_deep.append(Path(entry.path))
                else:
                    stack.append((Path(entry.path), depth + 1))
            elif _is_file(entry):
                files.append(entry.path)
    files.sort()
    return [Path(name) for name in files], too_deep


def _is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()  # a link is followed: it may point where this user may not look (/proc/1/cwd)
    except OSError:
        return False


def _entries(folder: Path) -> list[os.DirEntry]:
    with os.scandir(folder) as listing:
        return sorted(listing, key=lambda entry: entry.name)


def _class_dirs(folder: Path, base: Path, name: str) -> tuple[list[Path], list[str]]:
    dirs, files = [], []
    for entry in _entries(folder):
        path = Path(entry.path)
        if entry.name == EXTRACTED_MARKER:
            continue
        if entry.name.startswith((".", "__")):  # .git, __MACOSX: listed, never a class
            files.append(f"{entry.name}/ (hidden folder)" if entry.is_dir() else entry.name)
            continue
        if entry.is_dir(follow_symlinks=True):
            if entry.is_symlink() and not path.resolve().is_relative_to(base):
                raise BenchInputError(
                    f"{name}: class folder {excerpt(entry.name)} is a symbolic link to "
                    f"{excerpt(str(path.resolve()))}, outside the dataset folder; links out of the dataset are not "
                    "followed (copy that folder in instead)"
                )
            dirs.append(path)
        else:
            files.append(str(path.relative_to(folder)) + (" (symlink)" if entry.is_symlink() else ""))
    return dirs, files


def _walk_class(
    class_dir: Path,
    top: Path,
    max_depth: int,
    ignored: list[str],
    should_stop: Callable[[], bool] | None,
    budget: ScanBudget,
) -> list[Path]:
    """Image files under one class folder, sorted; iterative, never following links, to ``max_depth``."""
    found: list[str] = []
    stack = [(class_dir, 0)]
    while stack:
        folder, depth = stack.pop()
        check_stop(should_stop)
        try:
            entries = _entries(folder)
        except OSError as error:
            ignored.append(f"{folder.relative_to(top)}/ (cannot read: {error.strerror or error})")
            continue
        budget.take(len(entries))
        for entry in entries:
            if (
                entry.is_file(follow_symlinks=False)
                and os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES
                and not entry.name.startswith("._")
            ):
                found.append(entry.path)  # the common case: no Path object, no relative name
                continue
            path = Path(entry.path)
            if entry.is_symlink():
                ignored.append(f"{path.relative_to(top)} (symlink; links are not followed)")
            elif entry.is_dir(follow_symlinks=False):
                if entry.name.startswith((".", "__")):
                    ignored.append(f"{path.relative_to(top)}/ (hidden folder)")
                elif depth + 1 > max_depth:
                    ignored.append(f"{path.relative_to(top)}/ (deeper than {max_depth} folders; not scanned)")
                else:
                    stack.append((path, depth + 1))
            else:
                ignored.append(str(path.relative_to(top)))
    found.sort()  # as strings: much cheaper than comparing Paths
    return [Path(name) for name in found]


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def check_stop(should_stop: Callable[[], bool] | None) -> None:
    """Raise :class:`DecodeCancelled` if the caller asked to stop."""
    if should_stop is not None and should_stop():
        raise DecodeCancelled("cancelled while reading the dataset")


@dataclass(frozen=True)
class DecodedImages:
    images: np.ndarray  # N x size x size x 3, uint8, in the scan's file order
    labels: np.ndarray
    skipped: list[str]  # unreadable images, with the reason
    native_side: int | None  # median shorter side of the images as stored, in pixels
    files: list[Path] = field(default_factory=list)  # the files decoded, one per image
    intensity: str = ""  # how high-bit-depth images were mapped to 0..255, in words ("" when there were none)


def load_images(
    scan: FolderScan,
    size: int,
    per_class: Sequence[int] | None = None,
    should_stop: Callable[[], bool] | None = None,
    seed: int = SEED,
    intensity: str = "dataset",
    exact: bool = False,
) -> DecodedImages:
    """Decode listed images to size x size, listing the ones that cannot be read.

    The decode budget: no image is decoded larger than the largest one chosen (:func:`decode_side`),
    so 50,000 files of 16 x 16 pixels cost 16 x 16 x 3 bytes each, not ``size`` squared; staging
    resizes them to the model's input once, on the device. ``exact`` decodes to ``size`` regardless.

    High-bit-depth images are mapped to 0..255 by ``intensity`` (one of :data:`INTENSITY_SCALES`):
    under ``dataset``, each is decoded by its own range, then all are re-mapped in place onto the
    decoded images' joint range, so one linear map serves the whole dataset.

    ``per_class`` asks for that many images of each class (all when None): each class's
    files are taken in a seeded random order and an unreadable one is replaced by the next
    of its class, so the subset is stratified and the same on every call. Images come in
    the scan's order, replacements last. ``should_stop`` is asked before every file; it
    raises :class:`DecodeCancelled`.
    """
    labels = np.fromiter((label for _, label in scan.files), dtype=np.int64, count=len(scan.files))
    if per_class is None:
        queue = deque(range(len(scan.files)))
        spare: list[np.ndarray] = [np.zeros(0, np.int64) for _ in scan.class_names]
        capacity = len(scan.files)
    else:
        rng = np.random.default_rng(seed)
        order = [rng.permutation(np.flatnonzero(labels == label)) for label in range(len(scan.class_names))]
        queue = deque(sorted(int(i) for ranked, count in zip(order, per_class, strict=True) for i in ranked[:count]))
        spare = [ranked[count:] for ranked, count in zip(order, per_class, strict=True)]
        capacity = len(queue)
    used = [0] * len(spare)
    if not exact:  # a pool that must match another dataset's side asks for exactly ``size``
        size = decode_side([scan.files[i][0] for i in queue], size)
    # Filled in place, in decoding order: no second copy of the pixels is ever made.
    images = np.empty((capacity, size, size, 3), np.uint8)
    chosen: list[int] = []
    sides: list[int] = []
    skipped = list(scan.skipped)
    spans: list[tuple[int, tuple[float, float]]] = []  # (position, own range) of high-bit-depth images
    deep_formats = 0
    while queue:
        index = queue.popleft()
        check_stop(should_stop)
        path = scan.files[index][0]
        try:
            images[len(chosen)], side, span = decode_image_and_side(path, size, intensity)
        except Exception as error:  # a hostile file can make PIL raise anything: keep the reason
            skipped.append(f"{scan.relative(path)}: {_reason(error, path)}"[:300])
            label = labels[index]
            if used[label] < len(spare[label]):  # the next file of the same class takes its place
                queue.append(int(spare[label][used[label]]))
                used[label] += 1
            continue
        if span is not None and span[2]:
            spans.append((len(chosen), span[:2]))
        elif span is not None:
            deep_formats += 1
        chosen.append(index)
        sides.append(side)
    words = _intensity_words(images, spans, deep_formats, intensity)
    picked = np.asarray(chosen, dtype=np.int64)
    return DecodedImages(
        images[: len(chosen)],
        labels[picked],
        skipped,
        int(np.median(sides)) if sides else None,
        [scan.files[i][0] for i in picked],
        words,
    )


def decode_side(paths: Sequence[Path], size: int) -> int:
    """The side to decode to: ``size``, or the largest side among ``paths`` when every image is smaller.

    Reads headers only (no pixels), and stops at the first image as large as ``size``; files whose
    header cannot be read are left to the decoder, which skips them with the reason.
    """
    largest = 0
    for path in paths:
        try:
            with Image.open(path) as image:
                largest = max(largest, *image.size)
        except Exception:  # a hostile file can make PIL raise anything; decoding will say why
            continue
        if largest >= size:
            return size
    return max(8, largest) if largest else size


def _intensity_words(
    images: np.ndarray, spans: list[tuple[int, tuple[float, float]]], deep_formats: int, intensity: str
) -> str:
    """Apply the dataset's range (under ``dataset``) and say how high-bit-depth images were scaled."""
    if not spans and not deep_formats:
        return ""
    if intensity == "image":
        return f"{len(spans):,} high-bit-depth images scaled each by its own minimum..maximum (FOS_INTENSITY=image)"
    if not spans:
        return f"{deep_formats:,} high-bit-depth images scaled by their format's range (FOS_INTENSITY=format)"
    common = (min(span[0] for _, span in spans), max(span[1] for _, span in spans))
    for position, span in spans:
        rescale_to_range(images[position], span, common)
    fallback = " (float images, which have no format range)" if intensity == "format" else ""
    counted = f" and {deep_formats:,} by their format's range" if deep_formats else ""
    return (
        f"{len(spans):,} high-bit-depth images scaled by the dataset's range {common[0]:g}..{common[1]:g}"
        f"{fallback}{counted}, the same linear map for every image"
    )


def _reason(error: Exception, path: Path) -> str:
    if isinstance(error, Image.DecompressionBombError):
        return f"refused, too many pixels to decode safely (limit {MAX_PIXELS:,})"
    if isinstance(error, UnidentifiedImageError):
        return "not an image any decoder recognises (corrupt or unknown format)"
    return (str(error) or type(error).__name__).replace(str(path), path.name)
