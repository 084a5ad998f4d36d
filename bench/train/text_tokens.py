"""Text as token ids on the device, tokenized once per (dataset, tokenizer, length) and padded per batch.

* :class:`Tokens` holds every text of a dataset as one padded id matrix and its lengths; a
  batch is an index slice cut to its own longest text, so short texts never pay for long ones.
* :func:`bucketed_order` is an epoch's order: shuffled, then sorted by length within seeded
  buckets of ``BUCKET_BATCHES`` batches, then the batches shuffled (the last, short one last).
* :func:`hashed_ngrams` is the scratch model's tokenizer: lower-cased word and punctuation
  tokens, unigrams and bigrams hashed into a fixed table (no vocabulary learned anywhere else).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import torch

BUCKET_BATCHES = 50  # batches per length bucket: enough to pad little, few enough to stay shuffled
_WORDS = re.compile(r"\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Tokens:
    ids: torch.Tensor  # N x L int64, 0-padded on the right
    lengths: torch.Tensor  # N int64 (on the device)
    max_length: int

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids, attention mask) of the texts at ``index``, cut to the batch's longest text."""
        lengths = self.lengths[index]
        width = max(1, int(lengths.max()))
        ids = self.ids[index, :width]
        mask = (torch.arange(width, device=ids.device).unsqueeze(0) < lengths.unsqueeze(1)).long()
        return ids, mask

    def to(self, device: torch.device) -> Tokens:
        return Tokens(self.ids.to(device), self.lengths.to(device), self.max_length)


def pad(sequences: list[list[int]], max_length: int) -> Tokens:
    lengths = torch.tensor([min(len(s), max_length) for s in sequences], dtype=torch.int64)
    ids = torch.zeros((len(sequences), max(1, int(lengths.max()) if len(lengths) else 1)), dtype=torch.int64)
    for row, sequence in enumerate(sequences):
        cut = sequence[:max_length]
        ids[row, : len(cut)] = torch.tensor(cut, dtype=torch.int64)
    return Tokens(ids, lengths, max_length)


def encoder_tokens(tokenizer, texts: tuple[str, ...], max_length: int) -> Tokens:
    """The encoder's own tokenizer (special tokens included), truncated to ``max_length``."""
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length, add_special_tokens=True)
    return pad(encoded["input_ids"], max_length)


def hashed_ngrams(texts: tuple[str, ...], buckets: int, max_length: int) -> Tokens:
    """Word unigrams and bigrams hashed (CRC-32) into ids 1..buckets-1 (0 is padding).

    >>> hashed_ngrams(("Hello, world",), 1024, 16).lengths.tolist()
    [5]
    """
    sequences = []
    for text in texts:
        words = _WORDS.findall(text.lower())
        # Interleaved (each word after the bigram it ends), so a cut at max_length keeps both kinds from the start.
        grams = [
            gram for i, word in enumerate(words) for gram in ((word,) if i == 0 else (f"{words[i - 1]} {word}", word))
        ]
        sequences.append([1 + zlib.crc32(gram.encode()) % (buckets - 1) for gram in grams[:max_length]] or [0])
    return pad(sequences, max_length)


def bucketed_order(
    train: torch.Tensor, lengths: torch.Tensor, batch_size: int, generator: torch.Generator
) -> torch.Tensor:
    """An epoch's order of ``train`` indices whose consecutive ``batch_size`` slices have similar lengths.

    >>> g = torch.Generator().manual_seed(0)
    >>> order = bucketed_order(torch.arange(10), torch.arange(10), 2, g)
    >>> sorted(order.tolist()) == list(range(10))
    True
    """
    shuffled = train[torch.randperm(len(train), generator=generator).to(train.device)]
    bucket = batch_size * BUCKET_BATCHES
    batches: list[torch.Tensor] = []
    for start in range(0, len(shuffled), bucket):
        part = shuffled[start : start + bucket]
        part = part[torch.argsort(lengths[part], stable=True)]
        batches += list(part.split(batch_size))
    full = [b for b in batches if len(b) == batch_size]
    short = [b for b in batches if len(b) != batch_size]
    order = torch.randperm(len(full), generator=generator).tolist()
    return torch.cat([full[i] for i in order] + short) if batches else shuffled
