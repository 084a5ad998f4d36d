"""Reading a JSON file the program did not write itself: bounded, non-blocking, and never a recursion error.

Every JSON file a person can point the program at (a questionnaire profile, a results folder's
results.json) and every JSON column of the run store is read through here. Only regular files
are opened (``O_NONBLOCK``: a FIFO with no writer returns at once instead of waiting forever; a
link to ``/dev/zero`` is a device, refused before a byte is read); at most ``max_bytes`` are
read; nesting deeper than ``max_depth`` is refused before ``json.loads`` recurses; a key given
twice and a number of thousands of digits are errors. Every message names the file.

>>> parse_json('{"a": [1, 2]}', JSONSpec("results file"), "x.json")
{'a': [1, 2]}
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.constraints import excerpt

MAX_NUMBER_DIGITS = 40  # 1e10 has 11; more digits than this is not a count, a budget or an accuracy


class JSONFileError(ValueError):
    """A file (or stored text) that cannot be read as the JSON it should hold; the message names it."""


@dataclass(frozen=True)
class JSONSpec:
    """What a kind of JSON file is called in messages, and how big and deep it may be."""

    what: str  # "profile file", "results file": how messages call it
    max_bytes: int = 64 << 20
    max_depth: int = 64
    size_hint: str = ""  # e.g. "a profile is under 1 KiB"
    depth_hint: str = ""  # e.g. "a profile is a flat JSON object of fields"


def read_bounded(path: str | Path, spec: JSONSpec) -> bytes:
    """The bytes of a regular file, at most ``spec.max_bytes``; never blocks on a FIFO, never reads a device."""
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting forever.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, ValueError) as error:
        raise JSONFileError(f"cannot read {spec.what} {path}: {_os_reason(error)}") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a device, pipe or socket)"
            raise JSONFileError(f"cannot read {spec.what} {path}: {kind}; expected a JSON file")
        chunks, size = [], 0
        while size <= spec.max_bytes and (chunk := os.read(descriptor, 1 << 16)):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise JSONFileError(f"cannot read {spec.what} {path}: {_os_reason(error)}") from None
    finally:
        os.close(descriptor)
    raw = b"".join(chunks)
    if len(raw) > spec.max_bytes:
        hint = f"; {spec.size_hint}" if spec.size_hint else ""
        raise JSONFileError(f"{spec.what} {path} is larger than {spec.max_bytes // 1024:,} KiB{hint}")
    return raw


def load_json_file(path: str | Path, spec: JSONSpec) -> Any:
    """:func:`read_bounded`, then :func:`parse_json`: the file's JSON value, or :class:`JSONFileError`."""
    raw = read_bounded(path, spec)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise JSONFileError(f"cannot read {spec.what} {path}: not UTF-8 text (byte {error.start})") from None
    return parse_json(text, spec, str(path))


def parse_json(text: str, spec: JSONSpec, where: str) -> Any:
    """Parse JSON text with the file's bounds: depth before parsing, duplicate keys and huge numbers while."""
    if len(text) > spec.max_bytes:
        raise JSONFileError(f"{spec.what} {where} is larger than {spec.max_bytes // 1024:,} KiB")
    depth = nesting_depth(text)
    if depth > spec.max_depth:
        hint = f"; {spec.depth_hint}" if spec.depth_hint else f"; at most {spec.max_depth} accepted"
        raise JSONFileError(f"{spec.what} {where} nests {depth} levels deep{hint}")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_int=_bounded_int)
    except json.JSONDecodeError as error:
        raise JSONFileError(
            f"{spec.what} {where} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    except (_JSONProblem, ValueError, RecursionError) as error:
        raise JSONFileError(f"{spec.what} {where}: {error}") from None


class _JSONProblem(ValueError):
    pass


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def nesting_depth(text: str) -> int:
    """The deepest [ or { nesting outside strings, without recursion (json.loads recurses)."""
    depth = deepest = 0
    for char in re.findall(r"[\[\]{}]", _STRING.sub("", text)):
        depth = depth + 1 if char in "[{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _JSONProblem(f"field {excerpt(key)} is given twice; give each field once")
        result[key] = value
    return result


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _JSONProblem(f"a number of {len(text):,} digits ({text[:12]}…); at most {MAX_NUMBER_DIGITS} accepted")
    return int(text)


def _os_reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)
