"""Reading users' images safely: folders and zips of class sub-folders.

Nothing here trusts its input. Corrupt, truncated and zero-byte images are skipped and
listed; huge images are downsampled while decoding (JPEG draft mode) or refused before
their bitmap is allocated; zip members with absolute paths, `..` or symlinks are rejected,
and archives are bounded in size, member count and compression ratio.
"""

from __future__ import annotations

import os
import stat
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, UnidentifiedImageError

from bench.errors import BenchInputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")
# Decoded pixels allowed per image. Larger JPEGs are decoded at 1/2..1/8 scale (draft
# mode) to fit; other formats above it are refused: their full bitmap would be allocated.
MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 50_000
    max_total_bytes: int = 2 * 1024**3
    max_ratio: float = 200.0  # uncompressed / compressed, per member; zip bombs reach 1000+

    @classmethod
    def from_env(cls) -> ZipLimits:
        """Defaults, overridden by ``FOS_MAX_ZIP_MEMBERS`` and ``FOS_MAX_ZIP_GB``."""
        members = os.environ.get("FOS_MAX_ZIP_MEMBERS")
        gigabytes = os.environ.get("FOS_MAX_ZIP_GB")
        try:
            return cls(
                max_members=int(members) if members else cls.max_members,
                max_total_bytes=int(float(gigabytes) * 1024**3) if gigabytes else cls.max_total_bytes,
            )
        except ValueError:
            raise BenchInputError(
                f"FOS_MAX_ZIP_MEMBERS={members!r} / FOS_MAX_ZIP_GB={gigabytes!r}: expected a whole number / a number"
            ) from None


@dataclass
class FolderScan:
    """What a folder of class sub-folders holds, and what was skipped and why."""

    class_names: tuple[str, ...]
    files: list[tuple[Path, int]]  # (path, class index)
    ignored: list[str] = field(default_factory=list)  # non-image files
    skipped: list[str] = field(default_factory=list)  # unreadable images, with the reason


def decode_image(path: Path, size: int) -> np.ndarray:
    """Decode one image to RGB uint8 (size x size), compositing transparency on white.

    Raises OSError/ValueError for corrupt files, or for images too large to decode safely.
    """
    return decode_image_and_side(path, size)[0]


def decode_image_and_side(path: Path, size: int) -> tuple[np.ndarray, int]:
    """:func:`decode_image`, plus the image's shorter side in pixels as stored (its native size)."""
    if path.stat().st_size == 0:
        raise ValueError("zero-byte file")
    with warnings.catch_warnings():
        # We apply our own, lower limit below; PIL still raises DecompressionBombError for
        # images past twice its own limit, before allocating anything.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
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
            rgb = _to_rgb(image)
    rgb = rgb.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(rgb, dtype=np.uint8), min(width, height)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def scan_folder(root: Path) -> FolderScan:
    """List the images of a folder with one sub-folder per class."""
    if not root.is_dir():
        raise BenchInputError(f"{root}: not a folder; expected a folder with one sub-folder per class, or a .zip")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))
    # A zip often wraps everything in one top folder: look inside it.
    if len(class_dirs) == 1 and not any(_is_image(p) for p in class_dirs[0].iterdir()):
        return scan_folder(class_dirs[0])
    ignored = [str(p.relative_to(root)) for p in root.iterdir() if p.is_file()]
    files: list[tuple[Path, int]] = []
    for index, class_dir in enumerate(class_dirs):
        for path in sorted(class_dir.rglob("*")):
            if path.is_symlink():
                ignored.append(f"{path.relative_to(root)} (symlink)")
            elif path.is_file() and _is_image(path):
                files.append((path, index))
            elif path.is_file():
                ignored.append(str(path.relative_to(root)))
    if not class_dirs:
        raise BenchInputError(
            f"{root}: no class sub-folders; expected one sub-folder per class with images in it "
            f"({', '.join(IMAGE_SUFFIXES)})"
        )
    return FolderScan(tuple(p.name for p in class_dirs), files, ignored)


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def safe_extract(archive: Path, destination: Path, limits: ZipLimits | None = None) -> Path:
    """Extract a zip into ``destination`` after checking every member; nothing is written outside it."""
    limits = limits or ZipLimits.from_env()
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise BenchInputError(f"{archive}: not a readable zip archive ({error})") from None
    with bundle:
        members = bundle.infolist()
        if len(members) > limits.max_members:
            raise BenchInputError(f"{archive}: {len(members):,} members; at most {limits.max_members:,} accepted")
        total = 0
        for member in members:
            _check_member(archive, member, limits)
            total += member.file_size
            if total > limits.max_total_bytes:
                raise BenchInputError(
                    f"{archive}: more than {limits.max_total_bytes / 1024**3:.1f} GiB uncompressed; "
                    "split the dataset or raise the limit"
                )
        destination.mkdir(parents=True, exist_ok=True)
        root = destination.resolve()
        for member in members:
            target = (root / member.filename).resolve()
            if not target.is_relative_to(root):  # belt and braces after _check_member
                raise BenchInputError(f"{archive}: member {member.filename!r} would be written outside the folder")
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(member) as source, open(target, "wb") as sink:
                _copy_bounded(source, sink, member, archive)
    return destination


def _check_member(archive: Path, member: zipfile.ZipInfo, limits: ZipLimits) -> None:
    name = member.filename
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise BenchInputError(f"{archive}: member {name!r} has an absolute path; only relative paths are accepted")
    if ".." in path.parts:
        raise BenchInputError(f"{archive}: member {name!r} contains '..'; only paths inside the archive are accepted")
    mode = member.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise BenchInputError(f"{archive}: member {name!r} is a symbolic link; links are not accepted")
    if (
        member.compress_size
        and member.file_size / member.compress_size > limits.max_ratio
        and member.file_size > 1 << 20
    ):
        raise BenchInputError(
            f"{archive}: member {name!r} expands {member.file_size / member.compress_size:.0f}x "
            f"(limit {limits.max_ratio:.0f}x); this looks like a zip bomb"
        )


def _copy_bounded(source, sink, member: zipfile.ZipInfo, archive: Path) -> None:
    # The header's size can lie: never write more than it promised.
    written = 0
    while chunk := source.read(1 << 20):
        written += len(chunk)
        if written > member.file_size:
            raise BenchInputError(f"{archive}: member {member.filename!r} is larger than its header says")
        sink.write(chunk)


@dataclass(frozen=True)
class DecodedImages:
    images: np.ndarray  # N x size x size x 3, uint8
    labels: np.ndarray
    skipped: list[str]  # unreadable images, with the reason
    native_side: int | None  # median shorter side of the images as stored, in pixels


def load_images(scan: FolderScan, size: int) -> DecodedImages:
    """Decode every listed image to size x size, listing the ones that cannot be read."""
    images, labels, sides, skipped = [], [], [], list(scan.skipped)
    for path, label in scan.files:
        try:
            pixels, side = decode_image_and_side(path, size)
            images.append(pixels)
            sides.append(side)
            labels.append(label)
        except Image.DecompressionBombError:
            skipped.append(f"{path.name}: refused, too many pixels to decode safely (limit {MAX_PIXELS:,})")
        except (OSError, ValueError, UnidentifiedImageError, SyntaxError, EOFError) as error:
            skipped.append(f"{path.name}: {error}"[:200])
    if not images:
        return DecodedImages(np.zeros((0, size, size, 3), np.uint8), np.zeros(0, np.int64), skipped, None)
    return DecodedImages(np.stack(images), np.asarray(labels, dtype=np.int64), skipped, int(np.median(sides)))
