"""Extracting users' zip archives safely, once, and completely or not at all.

Nothing here trusts the archive. Every member is checked before anything is written:
absolute paths, ``..``, links, encrypted or unsupported compression, names that are not
valid file names (too long, too deep, ``.``, a file that is also a folder) are refused with
one :class:`~bench.errors.BenchInputError` naming the archive and the member. While
copying, the bytes written are counted against the archive's total and per-member limits,
so a header that lies (or a thousand small members of zeros) cannot fill the disk. Any
failure of the zip reader itself (bad CRC, truncated data, corrupt deflate stream) is
answered the same way.

:func:`extract_once` extracts into a sibling temporary folder and renames it into place
only when every member was written, so a failed or cancelled extraction leaves nothing
behind and a finished one is reused by every later trial.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from advisor.constraints import excerpt
from bench.data.images import EXTRACTED_MARKER, check_stop
from bench.errors import BenchInputError

# What the zip reader raises on damaged input: a bad central directory or CRC (BadZipFile),
# encryption (RuntimeError), unknown compression (NotImplementedError), bad names
# (UnicodeDecodeError is a ValueError), corrupt compressed streams (zlib.error,
# lzma.LZMAError, OSError from bz2, EOFError), malformed extra fields (struct.error).
READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    RuntimeError,
    NotImplementedError,
    ValueError,
    zlib.error,
    lzma.LZMAError,
    struct.error,
    IndexError,
    KeyError,
    OverflowError,
)
SUPPORTED_COMPRESSION = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}
MAX_NAME_BYTES = 255  # one path component, as most file systems allow
CHUNK = 1 << 20


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on what one archive may write. Override with ``FOS_MAX_ZIP_*`` (see :meth:`from_env`)."""

    max_members: int = 50_000
    max_total_bytes: int = 2 * 1024**3  # counted while copying, whatever the headers say
    max_ratio: float = 200.0  # uncompressed / compressed, per member above 1 MiB and for the archive
    max_depth: int = 32  # folders in a member's path
    # The whole-archive ratio holds from the first byte written: at most max(ratio_floor_bytes,
    # max_ratio x the archive's size on disk) are written, whatever the headers declare.
    ratio_floor_bytes: int = 1 << 20

    @classmethod
    def from_env(cls) -> ZipLimits:
        """Defaults, overridden by ``FOS_MAX_ZIP_MEMBERS``, ``FOS_MAX_ZIP_GB``, ``FOS_MAX_ZIP_DEPTH`` and ``FOS_MAX_ZIP_RATIO``.

        >>> ZipLimits.from_env().max_members > 0
        True
        """
        values = {}
        for variable, field, parse, accepted in (
            ("FOS_MAX_ZIP_MEMBERS", "max_members", int, "a whole number >= 1"),
            ("FOS_MAX_ZIP_GB", "max_total_bytes", lambda text: int(float(text) * 1024**3), "a number of GiB > 0"),
            ("FOS_MAX_ZIP_DEPTH", "max_depth", int, "a whole number >= 1"),
            ("FOS_MAX_ZIP_RATIO", "max_ratio", float, "a number >= 1"),
        ):
            text = os.environ.get(variable)
            if not text:
                continue
            try:
                value = parse(text)
            except (ValueError, OverflowError):
                value = 0
            if not value >= 1 or value == float("inf"):
                raise BenchInputError(f"{variable}={excerpt(text)}: expected {accepted}")
            values[field] = value
        return cls(**values)


def extract_once(
    archive: Path,
    destination: Path | None,
    cache_root: Path,
    limits: ZipLimits | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Path:
    """Extract ``archive`` unless already done; returns the folder holding its files.

    ``destination`` defaults to ``cache_root / <content digest>``, so the same archive is
    extracted once however many trials or runs read it. A failure leaves no folder behind.
    """
    target = destination or cache_root / archive_digest(archive, should_stop)
    if (target / EXTRACTED_MARKER).exists():
        return target
    if target.exists():
        if destination is None:  # an interrupted extraction by an older version
            shutil.rmtree(target, ignore_errors=True)
        elif any(target.iterdir()):
            raise BenchInputError(
                f"{target}: the folder to extract into exists and holds other files; give a new folder"
            )
        else:
            target.rmdir()
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        safe_extract(archive, partial, limits, should_stop)
        (partial / EXTRACTED_MARKER).touch()
        try:
            partial.rename(target)
        except OSError:
            if not (target / EXTRACTED_MARKER).exists():  # not another process finishing first
                raise
    except OSError as error:
        raise BenchInputError(f"{archive}: cannot extract into {target}: {error.strerror or error}") from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def archive_digest(archive: Path, should_stop: Callable[[], bool] | None = None) -> str:
    """The archive's content digest (sha256, 16 hex digits), read in chunks."""
    digest = hashlib.sha256()
    try:
        with open(archive, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                check_stop(should_stop)
    except OSError as error:
        raise BenchInputError(f"{archive}: cannot read the archive: {error.strerror or error}") from None
    return digest.hexdigest()[:16]


def safe_extract(
    archive: Path,
    destination: Path,
    limits: ZipLimits | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Path:
    """Extract a zip into ``destination`` after checking every member; nothing is written outside it.

    Raises :class:`BenchInputError` naming the archive (and the member) for anything wrong.
    Prefer :func:`extract_once`, which also cleans up after a failure.
    """
    limits = limits or ZipLimits.from_env()
    try:
        bundle = zipfile.ZipFile(archive)
    except READ_ERRORS as error:
        raise BenchInputError(f"{archive}: not a readable zip archive ({_reason(error)})") from None
    with bundle:
        try:
            members = bundle.infolist()
        except READ_ERRORS as error:  # pragma: no cover - infolist is computed on open
            raise BenchInputError(f"{archive}: not a readable zip archive ({_reason(error)})") from None
        on_disk = _archive_bytes(archive)
        plan = _plan(archive, members, limits, on_disk)
        allowed = max(limits.ratio_floor_bytes, int(limits.max_ratio * on_disk))
        destination.mkdir(parents=True, exist_ok=True)
        root = destination.resolve()
        written = 0
        for member, parts in plan:
            check_stop(should_stop)
            target = root.joinpath(*parts)
            if not target.resolve().is_relative_to(root):  # belt and braces after _plan
                raise BenchInputError(f"{archive}: member {_name(member)} would be written outside the folder")
            try:
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, open(target, "xb") as sink:
                    written = _copy_bounded(source, sink, member, archive, written, limits, allowed, should_stop)
            except BenchInputError:
                raise
            except READ_ERRORS as error:
                raise BenchInputError(
                    f"{archive}: member {_name(member)} cannot be extracted ({_reason(error)})"
                ) from None
    return destination


def _archive_bytes(archive: Path) -> int:
    try:
        return max(1, archive.stat().st_size)
    except OSError as error:
        raise BenchInputError(f"{archive}: cannot read the archive: {error.strerror or error}") from None


def _plan(
    archive: Path, members: list[zipfile.ZipInfo], limits: ZipLimits, on_disk: int
) -> list[tuple[zipfile.ZipInfo, tuple]]:
    """Check every member before anything is written; returns (member, path parts) to extract."""
    if len(members) > limits.max_members:
        raise BenchInputError(f"{archive}: {len(members):,} members; at most {limits.max_members:,} accepted")
    declared = sum(member.file_size for member in members)
    if declared > limits.max_total_bytes:
        raise BenchInputError(
            f"{archive}: {_size(declared)} uncompressed; at most {_size(limits.max_total_bytes)} "
            "accepted (FOS_MAX_ZIP_GB); split the dataset or raise the limit"
        )
    if declared > limits.ratio_floor_bytes and declared / on_disk > limits.max_ratio:
        raise BenchInputError(
            f"{archive}: expands {declared / on_disk:.0f}x, from {_size(on_disk)} to {_size(declared)} "
            f"(limit {limits.max_ratio:.0f}x, FOS_MAX_ZIP_RATIO); this looks like a zip bomb"
        )
    files: dict[tuple, zipfile.ZipInfo] = {}
    folders: dict[tuple, zipfile.ZipInfo] = {}
    plan = []
    for member in members:
        parts = _check_member(archive, member, limits)
        if not parts:
            if member.is_dir():  # "./": the archive's own root
                continue
            raise BenchInputError(
                f"{archive}: member {_name(member)} has no file name; expected a path like class/image.png"
            )
        if not member.is_dir():
            if parts in files:
                raise BenchInputError(f"{archive}: member {_name(member)} appears twice; each path must be unique")
            files[parts] = member
        for depth in range(1, len(parts) if not member.is_dir() else len(parts) + 1):
            folders.setdefault(parts[:depth], member)
        plan.append((member, parts))
    for parts in sorted(files.keys() & folders.keys())[:1]:
        raise BenchInputError(
            f"{archive}: member {_name(files[parts])} is a file, but {_name(folders[parts])} uses the same name as a "
            "folder; rename one of them"
        )
    return plan


def _check_member(archive: Path, member: zipfile.ZipInfo, limits: ZipLimits) -> tuple[str, ...]:
    name = member.filename
    if not name:  # ZipInfo.is_dir() would fail on it (it reads the last character)
        raise BenchInputError(f"{archive}: a member has an empty name; expected a path like class/image.png")
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise BenchInputError(
            f"{archive}: member {_name(member)} has an absolute path; only relative paths are accepted"
        )
    if ".." in path.parts:
        raise BenchInputError(
            f"{archive}: member {_name(member)} contains '..'; only paths inside the archive are accepted"
        )
    if "\0" in name:
        raise BenchInputError(f"{archive}: member {_name(member)} has a NUL character in its name")
    if stat.S_ISLNK(member.external_attr >> 16):
        raise BenchInputError(f"{archive}: member {_name(member)} is a symbolic link; links are not accepted")
    if member.flag_bits & 0x1:
        raise BenchInputError(
            f"{archive}: member {_name(member)} is encrypted; extract it with its password and zip it again without one"
        )
    if member.compress_type not in SUPPORTED_COMPRESSION:
        raise BenchInputError(
            f"{archive}: member {_name(member)} uses compression method {member.compress_type}; accepted: "
            f"{', '.join(SUPPORTED_COMPRESSION.values())}"
        )
    parts = tuple(part for part in path.parts if part not in ("", "."))
    folders = len(parts) - (0 if member.is_dir() else 1)
    if folders > limits.max_depth:
        raise BenchInputError(
            f"{archive}: member {_name(member)} is {folders} folders deep; at most {limits.max_depth} accepted "
            "(FOS_MAX_ZIP_DEPTH)"
        )
    for part in parts:
        if len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            raise BenchInputError(
                f"{archive}: member {_name(member)} has a name part of {len(part.encode('utf-8', 'surrogateescape'))} "
                f"bytes; file systems accept at most {MAX_NAME_BYTES}"
            )
    if (
        member.compress_size
        and member.file_size / member.compress_size > limits.max_ratio
        and member.file_size > 1 << 20
    ):
        raise BenchInputError(
            f"{archive}: member {_name(member)} expands {member.file_size / member.compress_size:.0f}x "
            f"(limit {limits.max_ratio:.0f}x); this looks like a zip bomb"
        )
    return parts


def _copy_bounded(
    source, sink, member, archive: Path, written: int, limits: ZipLimits, allowed: int, should_stop
) -> int:
    # The header's size can lie: never write more than it promised, nor more than the total and the
    # archive's ratio allow (``allowed``, counted from the first byte).
    this_member = 0
    while chunk := source.read(CHUNK):
        this_member += len(chunk)
        written += len(chunk)
        if this_member > member.file_size:
            raise BenchInputError(f"{archive}: member {_name(member)} is larger than its header says")
        if written > allowed:
            raise BenchInputError(
                f"{archive}: expands more than {limits.max_ratio:.0f}x its {_size(_archive_bytes(archive))} while "
                f"extracting (at member {_name(member)}); this looks like a zip bomb (limit: FOS_MAX_ZIP_RATIO)"
            )
        if written > limits.max_total_bytes:
            raise BenchInputError(
                f"{archive}: more than {_size(limits.max_total_bytes)} uncompressed; "
                "split the dataset or raise the limit (FOS_MAX_ZIP_GB)"
            )
        sink.write(chunk)
        check_stop(should_stop)
    return written


def _name(member: zipfile.ZipInfo) -> str:
    return excerpt(member.filename)


def _reason(error: BaseException) -> str:
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    text = text if len(text) <= 120 else f"{text[:119]}…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _size(count: int) -> str:
    if count < 1 << 20:
        return f"{count:,} bytes"
    return f"{count / 2**20:,.1f} MiB" if count < 1 << 30 else f"{count / 2**30:,.1f} GiB"
