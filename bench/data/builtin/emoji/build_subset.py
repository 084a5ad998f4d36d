"""Rebuild emoji-subset.npz: Noto Color Emoji glyphs, labelled by their Unicode emoji group.

Sources (Debian packages; install them, or ``apt-get download`` and ``dpkg -x`` them and pass
the paths):

- ``fonts-noto-color-emoji``: the colour bitmaps (136x128 px, CBDT) of Google's Noto Color
  Emoji, /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf (images Apache-2.0, font OFL-1.1).
- ``unicode-data``: /usr/share/unicode/emoji/emoji-test.txt, whose ``# group:`` headings
  give the labels (Unicode licence).

Kept: fully-qualified emoji of eight groups (Component and Flags are left out: components
are not pictures, and flags are recognisable by their shape alone), without skin-tone
variants (they would put near-copies of one picture in train and test); of each group at
most ``PER_CLASS`` drawable glyphs, evenly spaced through the group's file order (so every
sub-group is represented and the same files always give the same subset).
Each glyph is drawn at the font's bitmap size on white, cropped to its ink and padded to a
square, then resized to SIDE x SIDE RGB.

    python bench/data/builtin/emoji/build_subset.py
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
GROUPS = (
    "Smileys & Emotion",
    "People & Body",
    "Animals & Nature",
    "Food & Drink",
    "Travel & Places",
    "Activities",
    "Objects",
    "Symbols",
)
SKIN_TONES = {0x1F3FB, 0x1F3FC, 0x1F3FD, 0x1F3FE, 0x1F3FF}
PER_CLASS = 100  # ~3 MB in all at 64 px
SIDE = 64
BITMAP_SIZE = 109  # the one size at which Noto Color Emoji's CBDT strikes render


def read_emoji_test(path: Path) -> list[tuple[str, str]]:
    """(group, emoji string) for every fully-qualified emoji, in file order."""
    group, entries = "", []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif line and not line.startswith("#") and "; fully-qualified" in line:
            codes = [int(code, 16) for code in line.split(";", 1)[0].split()]
            if group in GROUPS and not SKIN_TONES.intersection(codes):
                entries.append((group, "".join(map(chr, codes))))
    return entries


def render(font: ImageFont.FreeTypeFont, text: str) -> np.ndarray | None:
    canvas = Image.new("RGB", (BITMAP_SIZE * 3, BITMAP_SIZE * 2), "white")
    ImageDraw.Draw(canvas).text((8, 8), text, font=font, embedded_color=True)
    ink = np.asarray(canvas).min(axis=2) < 250
    if not ink.any():
        return None
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    if cols[-1] - cols[0] > BITMAP_SIZE * 1.5:  # the font has no single glyph: drawn as several
        return None
    glyph = canvas.crop((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1))
    side = max(glyph.size)
    square = Image.new("RGB", (side, side), "white")
    square.paste(glyph, ((side - glyph.size[0]) // 2, (side - glyph.size[1]) // 2))
    return np.asarray(square.resize((SIDE, SIDE), Image.Resampling.LANCZOS), dtype=np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--font", type=Path, default=Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"))
    parser.add_argument("--emoji-test", type=Path, default=Path("/usr/share/unicode/emoji/emoji-test.txt"))
    parser.add_argument("--out", type=Path, default=HERE / "emoji-subset.npz")
    args = parser.parse_args()
    for path, package in ((args.font, "fonts-noto-color-emoji"), (args.emoji_test, "unicode-data")):
        if not path.exists():
            raise SystemExit(f"error: {path} not found; apt-get install {package}")
    font = ImageFont.truetype(str(args.font), BITMAP_SIZE, layout_engine=ImageFont.Layout.RAQM)
    rendered: dict[str, list[tuple[np.ndarray, str]]] = {group: [] for group in GROUPS}
    for group, text in read_emoji_test(args.emoji_test):
        pixels = render(font, text)
        if pixels is not None:
            rendered[group].append((pixels, " ".join(f"U+{ord(c):04X}" for c in text)))
    images, labels, names = [], [], []
    counts = {}
    for label, group in enumerate(GROUPS):
        members = rendered[group]
        keep = np.unique(np.linspace(0, len(members) - 1, min(PER_CLASS, len(members))).round().astype(int))
        counts[group] = len(keep)
        for index in keep:
            images.append(members[index][0])
            names.append(members[index][1])
            labels.append(label)
    np.savez_compressed(
        args.out,
        images=np.stack(images),
        labels=np.asarray(labels, dtype=np.int64),
        codepoints=np.asarray(names),
        classes=np.asarray(GROUPS),
    )
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()[:16]
    print(f"wrote {args.out}: {len(labels)} images, {args.out.stat().st_size / 1e6:.2f} MB, sha256 {digest}...")
    print(", ".join(f"{group}: {count}" for group, count in counts.items()))


if __name__ == "__main__":
    main()
