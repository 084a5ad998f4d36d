"""Zip archives: every malicious or broken archive is one BenchInputError naming the archive and member."""

import io
import stat
import struct
import zipfile

import numpy as np
import pytest
from PIL import Image

import bench.data.archives as archives
from bench.data.archives import ZipLimits, extract_once, safe_extract
from bench.data.datasets import load_dataset
from bench.data.images import DecodeCancelled
from bench.errors import BenchInputError


def _png(value: int, size: int = 6) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def good_zip(compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A small valid dataset: two classes of three PNGs, inside a wrapping folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as bundle:
        for label in ("cats", "dogs"):
            for i in range(3):
                bundle.writestr(f"pets/{label}/{i}.png", _png(40 * i + (100 if label == "dogs" else 0)))
    return buffer.getvalue()


def _zip_with(tmp_path, name, data=b"x", mode=None, compress=zipfile.ZIP_STORED):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w", compression=compress) as bundle:
        info = zipfile.ZipInfo(name)
        info.compress_type = compress
        if mode is not None:
            info.external_attr = mode << 16
        bundle.writestr(info, data)
    return archive


def _patch_headers(data: bytes, local_offset: int, central_offset: int, value: bytes) -> bytes:
    """Overwrite a field at the same place in every local (PK34) and central (PK12) header."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", local_offset), (b"PK\x01\x02", central_offset)):
        start = out.find(signature)
        while start != -1:
            out[start + offset : start + offset + len(value)] = value
            start = out.find(signature, start + 4)
    return bytes(out)


def _single(tmp_path, name="a/x.png", data=b"payload", **kwargs) -> bytes:
    return _zip_with(tmp_path, name, data, **kwargs).read_bytes()


def crafted(tmp_path) -> dict[str, tuple[bytes, str]]:
    """The attack pass's crafted archives: bytes, and what the message must say."""
    cases = {}
    data = bytearray(_single(tmp_path, data=b"hello world, these are image bytes"))
    start = data.find(b"hello")
    data[start : start + 5] = b"HELLO"  # the data no longer matches its CRC
    cases["bad_crc"] = (bytes(data), 'member "a/x.png" cannot be extracted (BadZipFile: Bad CRC-32')
    cases["encrypted"] = (_patch_headers(_single(tmp_path), 6, 8, b"\x01\x00"), 'member "a/x.png" is encrypted')
    utf8 = _single(tmp_path, name="a/\u00e9.png")  # written with the UTF-8 flag
    cases["invalid_utf8_name"] = (utf8.replace("\u00e9".encode(), b"\xff\xfe"), "not a readable zip archive")
    cases["compression_9"] = (
        _patch_headers(_single(tmp_path), 8, 10, struct.pack("<H", 9)),
        'member "a/x.png" uses compression method 9; accepted: stored, deflate',
    )
    cases["member_dot"] = (_single(tmp_path, name="."), 'member "." has no file name')
    clash = io.BytesIO()
    with zipfile.ZipFile(clash, "w") as bundle:
        bundle.writestr("a/b", b"file")
        bundle.writestr("a/b/c.png", b"under a file")
    cases["file_folder_clash"] = (clash.getvalue(), 'member "a/b" is a file, but "a/b/c.png" uses the same name')
    long_name = "a/" + "x" * 300 + ".png"
    cases["long_name"] = (_single(tmp_path, name=long_name), "name part of 304 bytes; file systems accept at most 255")
    deep = "/".join(["d"] * 1100) + "/x.png"
    cases["deep_path"] = (_single(tmp_path, name=deep), "1100 folders deep; at most 32 accepted")
    twice = io.BytesIO()
    with zipfile.ZipFile(twice, "w") as bundle, pytest.warns(UserWarning, match="Duplicate name"):
        bundle.writestr("a/x.png", b"one")
        bundle.writestr("a/x.png", b"two")
    cases["duplicate_member"] = (twice.getvalue(), 'member "a/x.png" appears twice')
    nameless = io.BytesIO()
    with zipfile.ZipFile(nameless, "w") as bundle:  # zipfile itself cannot write one: is_dir() reads name[-1]
        member = _Nameless("x")
        member.filename = ""
        bundle.writestr(member, b"data")
        bundle.writestr("a/x.png", b"x")
    cases["empty_name"] = (nameless.getvalue(), "a member has an empty name; expected a path like class/image.png")
    cases["truncated"] = (good_zip()[:-30], "not a readable zip archive")
    cases["not_a_zip"] = (b"PK not really", "not a readable zip archive")
    return cases


CASES = ("bad_crc", "encrypted", "invalid_utf8_name", "compression_9", "member_dot", "file_folder_clash")
CASES += ("long_name", "deep_path", "duplicate_member", "truncated", "not_a_zip", "empty_name")


class _Nameless(zipfile.ZipInfo):
    def is_dir(self) -> bool:
        return False


@pytest.mark.parametrize("case", CASES)
def test_crafted_archives_are_refused_by_name_and_leave_nothing(tmp_path, case):
    data, message = crafted(tmp_path)[case]
    archive = tmp_path / f"{case}.zip"
    archive.write_bytes(data)
    cache = tmp_path / "extracted"
    with pytest.raises(BenchInputError) as caught:
        extract_once(archive, None, cache)
    assert str(archive) in str(caught.value)
    assert message in str(caught.value)
    assert not cache.exists() or not any(cache.iterdir())  # no half-extracted folder left behind


def test_crafted_archives_are_refused_through_load_dataset(tmp_path):
    # One end-to-end case: the loader's message is the extractor's.
    archive = tmp_path / "enc.zip"
    archive.write_bytes(crafted(tmp_path)["encrypted"][0])
    with pytest.raises(BenchInputError, match="is encrypted"):
        load_dataset(str(archive))


@pytest.mark.parametrize(
    ("member", "mode", "message"),
    [
        ("/etc/evil.png", None, "has an absolute path"),
        ("../../evil.png", None, "contains '..'"),
        ("a/../../evil.png", None, "contains '..'"),
        ("C:/evil.png", None, "has an absolute path"),
        ("a/link.png", stat.S_IFLNK | 0o777, "is a symbolic link"),
    ],
)
def test_malicious_zips_are_rejected_and_write_nothing(tmp_path, member, mode, message):
    archive = _zip_with(tmp_path, member, mode=mode)
    target = tmp_path / "out"
    with pytest.raises(BenchInputError, match=message):
        safe_extract(archive, target)
    assert not target.exists() or not any(target.rglob("*"))
    assert not (tmp_path.parent / "evil.png").exists()


def test_zip_bomb_is_rejected(tmp_path):
    archive = _zip_with(tmp_path, "a/bomb.png", data=b"\0" * (20 << 20), compress=zipfile.ZIP_DEFLATED)
    with pytest.raises(BenchInputError, match="looks like a zip bomb"):
        safe_extract(archive, tmp_path / "out")


def test_many_small_members_of_zeros_are_bounded_as_a_whole(tmp_path):
    # Each member is under the per-member ratio check's 1 MiB floor; the archive as a whole is not.
    archive = tmp_path / "zeros.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for i in range(40):
            bundle.writestr(f"a/{i}.png", b"\0" * (64 << 10))
    # The archive's ratio is judged from the first byte (floor 1 MiB), not above 64 MiB: nothing is written.
    with pytest.raises(BenchInputError, match=r"expands \d+x, from [\d,]+ bytes to 2.5 MiB \(limit 200x"):
        safe_extract(archive, tmp_path / "out")
    assert not any((tmp_path / "out").rglob("*.png"))
    with pytest.raises(BenchInputError, match=r"2\.5 MiB uncompressed; at most 1\.0 MiB accepted"):
        safe_extract(archive, tmp_path / "out2", ZipLimits(max_total_bytes=1 << 20))


def test_total_is_counted_while_copying_even_if_headers_lie(tmp_path, monkeypatch):
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("a/1.png", b"x" * 600)
        bundle.writestr("a/2.png", b"x" * 600)
    # Headers that under-report the total: the copy itself must stop at the limit.
    monkeypatch.setattr(
        archives, "_plan", lambda archive, members, limits, size: [(m, tuple(m.filename.split("/"))) for m in members]
    )
    with pytest.raises(BenchInputError, match="more than 1,000 bytes uncompressed"):
        safe_extract(archive, tmp_path / "out", ZipLimits(max_total_bytes=1000))


def test_ratio_is_counted_while_copying_even_if_headers_lie(tmp_path, monkeypatch):
    archive = tmp_path / "zeros.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for i in range(4):
            bundle.writestr(f"a/{i}.png", b"\0" * (64 << 10))
    monkeypatch.setattr(
        archives, "_plan", lambda archive, members, limits, size: [(m, tuple(m.filename.split("/"))) for m in members]
    )
    limits = ZipLimits(ratio_floor_bytes=100 << 10)  # allowed: max(100 KiB, 200x the archive's size)
    with pytest.raises(BenchInputError, match=r"expands more than 200x its [\d,]+ bytes while extracting"):
        safe_extract(archive, tmp_path / "out", limits)
    written = sum(f.stat().st_size for f in (tmp_path / "out").rglob("*.png"))
    assert written <= max(100 << 10, 200 * archive.stat().st_size)


def test_zip_limits_on_count_and_total_size(tmp_path):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for i in range(30):
            bundle.writestr(f"a/{i}.png", b"x" * 100)
    with pytest.raises(BenchInputError, match="30 members; at most 10 accepted"):
        safe_extract(archive, tmp_path / "out", ZipLimits(max_members=10))
    with pytest.raises(BenchInputError, match="3,000 bytes uncompressed; at most 1,000 bytes accepted"):
        safe_extract(archive, tmp_path / "out2", ZipLimits(max_total_bytes=1000))


def test_zip_limits_come_from_the_environment(tmp_path, monkeypatch):
    archive = tmp_path / "three.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for i in range(3):
            bundle.writestr(f"a/{i}.png", b"x")
    monkeypatch.setenv("FOS_MAX_ZIP_MEMBERS", "2")
    with pytest.raises(BenchInputError, match="3 members; at most 2 accepted"):
        safe_extract(archive, tmp_path / "out")
    monkeypatch.setenv("FOS_MAX_ZIP_MEMBERS", "lots")
    with pytest.raises(BenchInputError, match='FOS_MAX_ZIP_MEMBERS="lots": expected a whole number >= 1'):
        safe_extract(archive, tmp_path / "out")
    monkeypatch.delenv("FOS_MAX_ZIP_MEMBERS")
    monkeypatch.setenv("FOS_MAX_ZIP_DEPTH", "1")
    deep = _zip_with(tmp_path, "a/b/c.png")
    with pytest.raises(BenchInputError, match=r'member "a/b/c\.png" is 2 folders deep; at most 1 accepted'):
        safe_extract(deep, tmp_path / "out3")


def test_an_archive_is_extracted_once_and_reused(tmp_path, monkeypatch):
    archive = tmp_path / "pets.zip"
    archive.write_bytes(good_zip())
    calls = []
    real = archives.safe_extract
    monkeypatch.setattr(archives, "safe_extract", lambda *args, **kw: calls.append(args) or real(*args, **kw))
    first = extract_once(archive, None, tmp_path / "cache")
    second = extract_once(archive, None, tmp_path / "cache")
    assert first == second and len(calls) == 1
    assert sorted(p.name for p in (first / "pets").iterdir()) == ["cats", "dogs"]
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.name]  # no partial folders


def test_cancel_stops_extraction_and_cleans_up(tmp_path):
    archive = tmp_path / "pets.zip"
    archive.write_bytes(good_zip())
    asked = []

    def should_stop():
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(DecodeCancelled):
        extract_once(archive, None, tmp_path / "cache", should_stop=should_stop)
    assert not any((tmp_path / "cache").iterdir())


def test_explicit_work_dir_with_other_files_is_not_overwritten(tmp_path):
    archive = tmp_path / "pets.zip"
    archive.write_bytes(good_zip())
    work = tmp_path / "work"
    work.mkdir()
    (work / "mine.txt").write_text("keep me")
    with pytest.raises(BenchInputError, match="holds other files"):
        extract_once(archive, work, tmp_path / "cache")
    assert (work / "mine.txt").read_text() == "keep me"


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    kind = rng.integers(0, 4)
    if kind == 0:  # truncate
        return bytes(out[: rng.integers(0, len(out))])
    # Flip bytes, half the time in the central directory and end record (the last ~40%).
    start = 0 if rng.random() < 0.5 else int(len(out) * 0.6)
    for _ in range(rng.integers(1, 9)):
        position = rng.integers(start, len(out))
        out[position] = rng.integers(0, 256) if kind != 3 else out[position] ^ (1 << rng.integers(0, 8))
    return bytes(out)


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2])
def test_fuzzed_zips_give_a_clean_error_or_a_dataset(tmp_path, compression):
    # Seeded byte mutations of a good archive (120 per compression). Anything but a
    # BenchInputError or a loaded dataset is a failure; the attack pass saw 53% raw exceptions.
    rng = np.random.default_rng(compression)
    good = good_zip(compression)
    outcomes = {"loaded": 0, "refused": 0}
    for case in range(120):
        archive = tmp_path / f"{case}.zip"
        archive.write_bytes(_mutate(good, rng))
        try:
            data = load_dataset(str(archive), image_size=8, work_dir=tmp_path / f"x{case}")
        except BenchInputError as error:
            assert str(archive) in str(error)
            outcomes["refused"] += 1
            assert not (tmp_path / f"x{case}").exists() or (tmp_path / f"x{case}" / ".complete").exists()
        else:
            assert data.images.dtype == np.uint8 and len(data) == len(data.labels)
            outcomes["loaded"] += 1
    assert outcomes["refused"] > 20, outcomes  # the mutations do break archives


def test_a_zip_without_a_wrapping_folder_loads_and_lists_only_the_users_files(tmp_path):
    archive = tmp_path / "flat.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for label in ("a", "b"):
            for i in range(3):
                bundle.writestr(f"{label}/{i}.png", _png(30 * i + (90 if label == "b" else 0)))
        bundle.writestr("notes.txt", b"hello")
        bundle.writestr("__MACOSX/a/._0.png", b"resource fork")
    data = load_dataset(str(archive), image_size=8)
    assert data.class_names == ("a", "b") and len(data) == 6 and data.files_total == 6
    assert data.ignored == ("__MACOSX/ (hidden folder)", "notes.txt")
