"""Rebuild spoken-commands-subset.npz: log-mel spectrograms of ten command words spoken by espeak-ng.

Source: Debian's ``espeak-ng`` (GPL-3.0-or-later), a formant speech synthesiser, run as a
program (``apt-get install espeak-ng``). The words are those of the Speech Commands
benchmark (Warden 2018): yes, no, up, down, left, right, on, off, stop, go.

Each example speaks one word with a voice drawn from a seeded generator: one of eight
English accents (en-gb, en-us, Scottish, Lancaster, RP, West Midlands, Caribbean, New York),
one of espeak-ng's voice variants (male, female, whisper, croak, klatt, ...), a speed of
100-240 words a minute and a pitch of 10-90. The waveform is placed at a random offset in a
1.2 s window, white noise is added at 10-30 dB SNR, and the window becomes a 64-band
log-mel spectrogram (50-8000 Hz) of 64 frames, 80 dB below the peak mapped to 0 and the
peak to 255. Rows are mel bands, low frequencies at the bottom. The same seed and
espeak-ng version give the same file.

    python bench/data/builtin/spoken-commands/build_subset.py
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from scipy.io import wavfile

HERE = Path(__file__).resolve().parent
WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
ACCENTS = ("en-gb", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
PER_CLASS = 80
SIDE = 64  # mel bands and frames
WINDOW_SECONDS = 1.2
SAMPLE_RATE = 22050  # espeak-ng's own rate
DYNAMIC_RANGE_DB = 80.0


def variants(espeak: str) -> list[str]:
    """espeak-ng's voice variants (the ``+name`` suffixes), from its own listing."""
    listing = subprocess.run([espeak, "--voices=variant"], capture_output=True, text=True, check=True).stdout
    return sorted(line.split()[3].removeprefix("!v/") for line in listing.splitlines()[1:] if line.strip())


def speak(espeak: str, word: str, voice: str, speed: int, pitch: int, folder: Path) -> np.ndarray:
    # A file, not --stdout: on a pipe espeak-ng cannot go back to write the WAV header's sizes.
    path = folder / "word.wav"
    subprocess.run([espeak, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), word], check=True)
    rate, samples = wavfile.read(path)
    if rate != SAMPLE_RATE:
        raise SystemExit(f"error: espeak-ng wrote {rate} Hz audio; this script expects {SAMPLE_RATE} Hz")
    return samples.astype(np.float64) / 32768.0


def mel_filters(n_fft: int) -> np.ndarray:
    """Triangular mel filters (HTK mel scale), SIDE x (n_fft // 2 + 1)."""
    to_mel = lambda hz: 2595.0 * np.log10(1.0 + hz / 700.0)  # noqa: E731
    to_hz = lambda mel: 700.0 * (10.0 ** (mel / 2595.0) - 1.0)  # noqa: E731
    edges = to_hz(np.linspace(to_mel(50.0), to_mel(8000.0), SIDE + 2))
    bins = np.linspace(0.0, SAMPLE_RATE / 2, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.maximum(0.0, np.minimum((bins - lower) / (centre - lower), (upper - bins) / (upper - centre)))


def spectrogram(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    length = int(WINDOW_SECONDS * SAMPLE_RATE)
    samples = samples[:length]
    window = np.zeros(length)
    start = int(rng.integers(0, length - len(samples) + 1))
    window[start : start + len(samples)] = samples
    signal_power = np.mean(samples**2)
    snr_db = rng.uniform(10.0, 30.0)
    window += rng.normal(0.0, np.sqrt(signal_power / 10 ** (snr_db / 10)), length)
    n_fft, hop = 1024, length // SIDE
    padded = np.pad(window, (n_fft // 2, n_fft // 2), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:SIDE]  # SIDE frames, centred
    power = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1).T) ** 2
    mel_db = 10.0 * np.log10(mel_filters(n_fft) @ power + 1e-12)
    scaled = (mel_db - mel_db.max() + DYNAMIC_RANGE_DB) / DYNAMIC_RANGE_DB
    return np.round(np.clip(scaled, 0.0, 1.0)[::-1] * 255.0).astype(np.uint8)  # low frequencies at the bottom


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--espeak", default=shutil.which("espeak-ng") or "espeak-ng")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "spoken-commands-subset.npz")
    args = parser.parse_args()
    if shutil.which(args.espeak) is None:
        raise SystemExit("error: espeak-ng not found; apt-get install espeak-ng")
    rng = np.random.default_rng(args.seed)
    names = variants(args.espeak)
    images, labels, voices = [], [], []
    folder = Path(tempfile.mkdtemp())
    for label, word in enumerate(WORDS):
        for _ in range(PER_CLASS):
            voice = f"{rng.choice(ACCENTS)}+{rng.choice(names)}"
            speed, pitch = int(rng.integers(100, 241)), int(rng.integers(10, 91))
            images.append(spectrogram(speak(args.espeak, word, voice, speed, pitch, folder), rng))
            labels.append(label)
            voices.append(f"{voice} -s {speed} -p {pitch}")
    shutil.rmtree(folder)
    np.savez_compressed(
        args.out,
        images=np.stack(images),
        labels=np.asarray(labels, dtype=np.int64),
        voices=np.asarray(voices),
        classes=np.asarray(WORDS),
    )
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()[:16]
    print(f"wrote {args.out}: {len(labels)} images, {args.out.stat().st_size / 1e6:.2f} MB, sha256 {digest}...")


if __name__ == "__main__":
    main()
