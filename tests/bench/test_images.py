"""Users' images: every format, transparency, and every kind of bad file or archive."""

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from bench.data.datasets import load_dataset
from bench.data.images import MAX_PIXELS, decode_image
from bench.errors import BenchInputError
from tests.bench.imaging import write_class_folder


@pytest.mark.parametrize("fmt", ["png", "jpeg", "bmp", "webp", "gif"])
def test_every_supported_format_loads(tmp_path, fmt):
    write_class_folder(tmp_path, {"a": 3, "b": 3}, fmt=fmt)
    data = load_dataset(str(tmp_path), image_size=16)
    assert data.images.shape == (6, 16, 16, 3)
    assert data.class_names == ("a", "b")
    assert list(np.bincount(data.labels)) == [3, 3]


def test_native_resolution_is_the_median_shorter_side(tmp_path):
    for index, (width, height) in enumerate([(40, 30), (64, 48), (100, 80)]):
        folder = tmp_path / ("a" if index % 2 else "b")
        folder.mkdir(exist_ok=True)
        Image.new("RGB", (width, height), (index * 60, 0, 0)).save(folder / f"{index}.png")
        Image.new("RGB", (width, height), (0, index * 60, 0)).save(folder / f"{index}x.png")
    data = load_dataset(str(tmp_path), image_size=16)
    assert data.images.shape[1:] == (16, 16, 3)  # decoded size
    assert data.native_resolution == 48  # as captured: median of 30, 30, 48, 48, 80, 80


def test_transparency_is_composited_on_white(tmp_path):
    path = tmp_path / "clear.png"
    Image.new("RGBA", (10, 10), (255, 0, 0, 0)).save(path)
    assert decode_image(path, 8).min() == 255
    half = tmp_path / "half.png"
    Image.new("LA", (10, 10), (0, 128)).save(half)
    assert 120 <= int(decode_image(half, 8).mean()) <= 135


def test_grayscale_and_palette_become_rgb(tmp_path):
    Image.new("L", (9, 7), 100).save(tmp_path / "gray.png")
    Image.new("P", (9, 7), 3).save(tmp_path / "palette.gif")
    assert decode_image(tmp_path / "gray.png", 5).shape == (5, 5, 3)
    assert decode_image(tmp_path / "palette.gif", 5).shape == (5, 5, 3)


def test_bad_files_are_skipped_and_listed(tmp_path):
    write_class_folder(tmp_path, {"cats": 3, "dogs": 3})
    (tmp_path / "cats" / "empty.png").write_bytes(b"")
    (tmp_path / "cats" / "garbage.jpg").write_bytes(b"this is not a jpeg")
    good = io.BytesIO()
    Image.new("RGB", (40, 40), (9, 9, 9)).save(good, format="PNG")
    (tmp_path / "dogs" / "truncated.png").write_bytes(good.getvalue()[:60])
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    (tmp_path / "README.md").write_text("top-level file")
    data = load_dataset(str(tmp_path), image_size=16)
    assert len(data) == 6
    skipped = " | ".join(data.skipped)
    for name in ("empty.png", "garbage.jpg", "truncated.png"):
        assert name in skipped
    assert "dogs/notes.txt" in data.ignored and "README.md" in data.ignored


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size; the pixel data is tiny (and incomplete)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("width", "height"), [(9000, 9000), (30000, 30000)])
def test_huge_images_are_refused_without_allocating_them(tmp_path, width, height):
    write_class_folder(tmp_path, {"a": 2, "b": 2})
    (tmp_path / "a" / "bomb.png").write_bytes(_png_header_only(width, height))
    data = load_dataset(str(tmp_path), image_size=16)
    assert len(data) == 4
    assert any("bomb.png" in s and ("limit" in s) for s in data.skipped), data.skipped


def test_large_jpeg_is_downsampled_while_decoding(tmp_path):
    width, height = 8000, 6000  # 48M pixels, over the limit: decoded at reduced scale
    assert width * height > MAX_PIXELS
    path = tmp_path / "big.jpg"
    Image.new("RGB", (width, height), (10, 200, 30)).save(path, quality=50)
    pixels = decode_image(path, 32)
    assert pixels.shape == (32, 32, 3)
    assert abs(int(pixels[..., 1].mean()) - 200) < 10


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ({}, "no class sub-folders"),
        ({"only": 4}, "only one class (only)"),
        ({"a": 3, "b": 1}, "every class needs at least 2 readable images; too few in: b (1)"),
    ],
)
def test_unusable_folders_are_rejected_with_the_reason(tmp_path, classes, message):
    write_class_folder(tmp_path, classes)
    with pytest.raises(BenchInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_dataset(str(tmp_path))


def test_folder_of_only_corrupt_images_is_an_error_listing_them(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(
        BenchInputError, match=r"no readable images \(2 unreadable images skipped: a/x.png: not an image"
    ):
        load_dataset(str(tmp_path))


def test_a_zip_of_a_folder_loads(tmp_path):
    source = write_class_folder(tmp_path / "src" / "flowers", {"rose": 3, "tulip": 3})
    archive = tmp_path / "flowers.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in source.rglob("*.png"):
            bundle.write(path, path.relative_to(tmp_path / "src"))
    data = load_dataset(str(archive), image_size=16)
    assert data.class_names == ("rose", "tulip") and len(data) == 6


def test_not_a_zip(tmp_path):
    fake = tmp_path / "data.zip"
    fake.write_bytes(b"PK not really")
    with pytest.raises(BenchInputError, match="not a readable zip archive"):
        load_dataset(str(fake))
