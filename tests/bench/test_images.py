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


# --- Faithful pixels -------------------------------------------------------------------------


def test_12_bit_png_is_scaled_by_its_range_not_saturated(tmp_path):
    # A 12-bit X-ray stored as a 16-bit PNG: values 0..4095 in a left-to-right ramp.
    ramp = np.tile(np.linspace(0, 4095, 64).round().astype(np.uint16), (64, 1))
    path = tmp_path / "xray.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")  # really stored with more than 8 bits
    pixels = decode_image(path, 64)[..., 0].astype(int)
    assert pixels.min() == 0 and pixels.max() == 255
    assert (pixels == 255).mean() < 0.05  # clipping to 8 bits saturated ~94% of it
    assert np.all(np.diff(pixels[32]) >= 0)  # still a ramp
    assert abs(int(pixels[32, 32]) - 130) < 8  # the middle of the range is mid-grey


@pytest.mark.parametrize(
    ("values", "suffix"),
    [
        (np.linspace(0.0, 1.0, 32 * 32, dtype=np.float32), ".tif"),  # float image in 0..1
        (np.linspace(-5e6, 5e6, 32 * 32).astype(np.int32), ".tif"),  # 32-bit signed integers
    ],
)
def test_float_and_32_bit_images_span_the_8_bit_range(tmp_path, values, suffix):
    path = tmp_path / f"deep{suffix}"
    Image.fromarray(values.reshape(32, 32)).save(path)
    assert Image.open(path).mode in ("F", "I")
    pixels = decode_image(path, 32)[..., 0].astype(int)
    assert pixels.min() == 0 and pixels.max() == 255
    assert 100 < pixels.mean() < 155


def test_float_image_with_nan_and_infinity_uses_the_finite_range(tmp_path):
    values = np.linspace(10.0, 20.0, 16 * 16, dtype=np.float32).reshape(16, 16)
    values[0, 0], values[0, 1] = np.nan, np.inf
    path = tmp_path / "nan.tif"
    Image.fromarray(values).save(path)
    pixels = decode_image(path, 16)[..., 0].astype(int)
    assert pixels.max() == 255 and pixels[8:].min() > 100


def _two_colour_jpeg(path, orientation: int | None):
    # 40 wide x 20 tall: left half red, right half blue, as stored.
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (230, 20, 20)
    pixels[:, 20:] = (20, 20, 230)
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, quality=95, exif=exif.tobytes())


def test_exif_orientation_is_applied(tmp_path):
    # Orientation 6: the camera was turned; the viewer rotates 90 degrees clockwise, so
    # the stored left (red) half is shown on top.
    rotated, plain = tmp_path / "rotated.jpg", tmp_path / "plain.jpg"
    _two_colour_jpeg(rotated, 6)
    _two_colour_jpeg(plain, None)
    upright = decode_image(rotated, 16).astype(int)
    assert upright[:6, :, 0].mean() > 180 and upright[:6, :, 2].mean() < 60  # top is red
    assert upright[10:, :, 2].mean() > 180 and upright[10:, :, 0].mean() < 60  # bottom is blue
    as_stored = decode_image(plain, 16).astype(int)
    assert as_stored[:, :6, 0].mean() > 180 and as_stored[:, 10:, 2].mean() > 180  # left red, right blue


def test_cmyk_jpeg_becomes_the_right_rgb(tmp_path):
    path = tmp_path / "print.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path)  # no cyan, full magenta and yellow: red
    pixels = decode_image(path, 8).astype(int)
    assert pixels[..., 0].min() > 220 and pixels[..., 1:].max() < 40


def _profile_with_red_and_blue_swapped() -> bytes:
    # An RGB profile whose red primary is sRGB's blue and vice versa: a pixel stored as
    # (255, 0, 0) in it is blue in sRGB. Any ICC-aware viewer shows it blue.
    from PIL import ImageCms

    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = struct.unpack(">I", data[128:132])[0]
    table = {bytes(data[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, blue = (
        bytes(data[table[b"rXYZ"] + 4 : table[b"rXYZ"] + 12]),
        bytes(data[table[b"bXYZ"] + 4 : table[b"bXYZ"] + 12]),
    )
    data[table[b"rXYZ"] + 4 : table[b"rXYZ"] + 12] = blue
    data[table[b"bXYZ"] + 4 : table[b"bXYZ"] + 12] = red
    return bytes(data)


def test_embedded_icc_profile_is_honoured(tmp_path):
    path = tmp_path / "profiled.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(path, icc_profile=_profile_with_red_and_blue_swapped())
    pixels = decode_image(path, 4).astype(int)
    assert pixels[..., 2].min() > 220 and pixels[..., 0].max() < 40  # blue, as the profile says
    broken = tmp_path / "broken.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(broken, icc_profile=b"not a profile")
    assert decode_image(broken, 4)[0, 0].tolist() == [255, 0, 0]  # unusable profile: plain pixels


# --- Folder scanning -------------------------------------------------------------------------


def test_symlinked_class_folder_outside_the_dataset_is_refused(tmp_path):
    dataset = write_class_folder(tmp_path / "data", {"a": 3, "b": 3})
    outside = write_class_folder(tmp_path / "elsewhere", {"secret": 3})
    (dataset / "c").symlink_to(outside / "secret", target_is_directory=True)
    with pytest.raises(BenchInputError, match=r"class folder \"c\" is a symbolic link to .*outside the dataset folder"):
        load_dataset(str(dataset), image_size=8)


def test_symlinks_inside_class_folders_are_listed_not_followed(tmp_path):
    dataset = write_class_folder(tmp_path / "data", {"a": 3, "b": 3})
    outside = write_class_folder(tmp_path / "elsewhere", {"secret": 3})
    (dataset / "a" / "peek.png").symlink_to(outside / "secret" / "img0.png")
    (dataset / "a" / "more").symlink_to(outside / "secret", target_is_directory=True)
    data = load_dataset(str(dataset), image_size=8)
    assert len(data) == 6
    assert "a/peek.png (symlink; links are not followed)" in data.ignored
    assert "a/more (symlink; links are not followed)" in data.ignored


def test_deep_folders_are_scanned_iteratively_to_a_bounded_depth(tmp_path):
    dataset = write_class_folder(tmp_path / "data", {"a": 2, "b": 2})
    deep = dataset / "a"
    for _ in range(300):  # deeper than Python's recursion would like, shallower than PATH_MAX
        deep = deep / "d"
    deep.mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(deep / "lost.png")
    shallow = dataset / "a" / "d" / "d"
    Image.new("RGB", (4, 4), (9, 9, 9)).save(shallow / "found.png")
    data = load_dataset(str(dataset), image_size=8)
    assert data.files_total == 5 and len(data) == 5  # found.png counts, lost.png is too deep
    assert any("deeper than 32 folders; not scanned" in note for note in data.ignored)


def test_hidden_and_macos_metadata_files_are_not_images(tmp_path):
    dataset = write_class_folder(tmp_path, {"a": 2, "b": 2})
    (dataset / "a" / "._img0.png").write_bytes(b"\0\5\26\7 resource fork")
    (dataset / "a" / ".ipynb_checkpoints").mkdir()
    data = load_dataset(str(dataset), image_size=8)
    assert len(data) == 4 and not data.skipped
    assert "a/._img0.png" in data.ignored and "a/.ipynb_checkpoints/ (hidden folder)" in data.ignored


def test_every_undecodable_file_is_reported_with_its_reason(tmp_path):
    dataset = write_class_folder(tmp_path, {"a": 3, "b": 3})
    (dataset / "b" / "fake.tif").write_bytes(b"II*\0" + b"\xff" * 40)  # a TIFF header, then nonsense
    Image.fromarray(np.full((4, 4), np.nan, np.float32)).save(dataset / "b" / "allnan.tif")
    data = load_dataset(str(dataset), image_size=8)
    assert len(data) == 6 and data.files_total == 8 and data.files_used == 6
    reasons = dict(note.split(": ", 1) for note in data.skipped)
    assert set(reasons) == {"b/fake.tif", "b/allnan.tif"}
    assert reasons["b/allnan.tif"] == "no finite pixel values"


def test_empty_dataset_name_is_refused_not_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(write_class_folder(tmp_path, {"a": 2, "b": 2}))
    for name in ("", "  "):
        with pytest.raises(BenchInputError, match="dataset: expected a built-in name"):
            load_dataset(name)


def test_a_huge_sparse_file_is_skipped_without_being_read_whole(tmp_path):
    # The attack pass's 4 GB sparse file reached 5.3 GB of memory when every file was hashed whole.
    dataset = write_class_folder(tmp_path, {"a": 3, "b": 3})
    with open(dataset / "a" / "huge.png", "wb") as handle:
        handle.truncate(4 << 30)
    data = load_dataset(str(dataset), image_size=8)
    assert len(data) == 6 and data.files_total == 7
    assert data.skipped == ("a/huge.png: not an image any decoder recognises (corrupt or unknown format)",)


def _two_level_16_bit_set(root, per_class=20, seed=0):
    """Two classes that differ only in absolute level: 10,000-11,000 against 50,000-51,000 (16-bit PNGs)."""
    rng = np.random.default_rng(seed)
    for name, low in (("dim", 10_000), ("bright", 50_000)):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            values = rng.integers(low, low + 1001, (16, 16)).astype(np.uint16)
            Image.fromarray(values).save(root / name / f"{i}.png")
    return root


def _nearest_class_mean(data) -> float:
    """Accuracy of nearest-class-mean on the decoded pixels: means from even images, tested on odd ones."""
    pixels = data.images.reshape(len(data), -1).astype(float)
    train, test = np.arange(len(data)) % 2 == 0, np.arange(len(data)) % 2 == 1
    means = np.stack([pixels[train & (data.labels == c)].mean(0) for c in range(data.num_classes)])
    guesses = np.argmin(((pixels[test][:, None] - means[None]) ** 2).sum(-1), axis=1)
    return float((guesses == data.labels[test]).mean())


@pytest.mark.parametrize(
    ("scale", "apart", "words"),
    [
        (None, True, "scaled by the dataset's range 10000..51000, the same linear map for every image"),
        ("format", True, "scaled by their format's range"),
        ("image", False, "each by its own minimum..maximum (FOS_INTENSITY=image)"),
    ],
)
def test_16_bit_classes_that_differ_in_level_stay_apart(tmp_path, monkeypatch, scale, apart, words):
    # The attack pass: per-image min-max gave both classes mean 127; nearest-class-mean scored 0.40.
    if scale:
        monkeypatch.setenv("FOS_INTENSITY", scale)
    data = load_dataset(str(_two_level_16_bit_set(tmp_path / "levels")), image_size=16)
    score = _nearest_class_mean(data)
    assert (score >= 0.95) if apart else (score < 0.8), score
    assert words in data.intensity
    if scale is None:  # one map for all: the dim class sits near 0, the bright one near 252 (of 255)
        dim, bright = (data.images[data.labels == data.class_names.index(n)].mean() for n in ("dim", "bright"))
        assert dim < 10 and bright > 240  # (50,500 - 10,000) / 41,000 x 255 = 252


def test_an_unknown_intensity_scale_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("FOS_INTENSITY", "minmax")
    with pytest.raises(BenchInputError, match='FOS_INTENSITY="minmax": expected one of dataset, format, image'):
        load_dataset(str(_two_level_16_bit_set(tmp_path / "levels", per_class=2)), image_size=16)


def test_a_huge_folder_scan_stops_at_the_bound_and_names_it(tmp_path, monkeypatch):
    # The attack pass: --dataset / walked the whole file system for 28 s before refusing.
    write_class_folder(tmp_path / "many", {"a": 30, "b": 30}, size=4)
    monkeypatch.setenv("FOS_MAX_SCAN_FILES", "40")
    with pytest.raises(BenchInputError, match=r"more than 40 files and folders under it, scan stopped \(FOS_MAX_SCAN"):
        load_dataset(str(tmp_path / "many"))
    monkeypatch.setenv("FOS_MAX_SCAN_FILES", "1000")
    assert len(load_dataset(str(tmp_path / "many"))) == 60


def test_tiny_images_are_decoded_at_their_own_size_not_the_requested_one(tmp_path):
    # The decode budget: 50,000 16 px files cost 16 x 16 x 3 bytes each, not 128 x 128 x 3.
    write_class_folder(tmp_path, {"a": 3, "b": 3}, size=12)
    data = load_dataset(str(tmp_path), image_size=128)
    assert data.images.shape == (6, 12, 12, 3)
    assert data.default_resolution == 64  # trained at the side matched to 12 px images (matched_resolution), not 128
    write_class_folder(tmp_path, {"c": 2}, size=200)  # large images: the requested size again
    assert load_dataset(str(tmp_path), image_size=128).images.shape[1:3] == (128, 128)
