"""Rebuild code-snippets-subset.jsonl: five-line source code snippets labelled by programming language.

Far from the sentence encoder's pretraining text (English sentences): code, where identifiers,
punctuation and indentation carry the signal. Sources are Debian packages (install them, or
``apt-get download NAME && dpkg -x NAME_*.deb x`` for each and pass ``--root x``):

- ``libpython3.11-stdlib``: Python, /usr/lib/python3.11/**/*.py (PSF-2.0)
- ``libc6-dev``: C headers, /usr/include/**/*.h (LGPL-2.1+)
- ``perl-modules-5.36``: Perl, /usr/share/perl/5.36/**/*.pm (Artistic or GPL-1+)
- ``libruby3.1``: Ruby, /usr/lib/ruby/3.1.0/**/*.rb (Ruby licence or BSD-2-Clause)

From the files of each language in sorted path order, one snippet per file at most (so no two
snippets share a file), until PER_CLASS: LINES consecutive non-blank lines starting at a
seeded position, tabs kept, lines cut at 160 characters. Snippets that are mostly comment or
licence text (fewer than half the lines with a code character) are skipped.

    python bench/data/builtin/code-snippets/build_subset.py [--root /]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from bench.data.text_catalog import write_subset

HERE = Path(__file__).resolve().parent
SOURCES = {
    "python": ("usr/lib/python3.11", "*.py"),
    "c": ("usr/include", "*.h"),
    "perl": ("usr/share/perl/5.36", "*.pm"),
    "ruby": ("usr/lib/ruby/3.1.0", "*.rb"),
}
PER_CLASS = 160
LINES = 5
CODE_CHARS = set("(){}[];=$@:<>")


def snippet(path: Path, rng: random.Random) -> str | None:
    try:
        lines = [line.rstrip()[:160] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (UnicodeDecodeError, OSError):
        return None
    if len(lines) < LINES + 10:
        return None
    start = rng.randrange(5, len(lines) - LINES)  # past most licence headers
    chunk = lines[start : start + LINES]
    if sum(any(c in CODE_CHARS for c in line) for line in chunk) < LINES / 2:
        return None
    return "\n".join(chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/"), help="where the packages' files are (/ when installed)")
    args = parser.parse_args()
    rows = []
    for label, (folder, pattern) in SOURCES.items():
        rng = random.Random(label)
        files = sorted((args.root / folder).rglob(pattern))
        rng.shuffle(files)
        texts: list[str] = []
        for path in files:
            text = snippet(path, rng)
            if text and text not in texts:
                texts.append(text)
            if len(texts) == PER_CLASS:
                break
        rows += [(text, label) for text in texts]
        print(f"{label}: {len(texts)} of {len(files)} files")
    target = HERE / "code-snippets-subset.jsonl"
    print(f"{write_subset(target, rows)} snippets -> {target}")


if __name__ == "__main__":
    main()
