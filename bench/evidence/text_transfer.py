"""Transferability on text: LogME of the sentence encoder's embeddings against the same network at random init.

The text counterpart of :func:`bench.evidence.logme.estimate_transferability` (which sends text
datasets here): the pretrained side is the encoder's own ``encode`` (cached, as the linear probe
reads it); the baseline is the same architecture from a fixed random initialisation, mean-pooled
the same way. The gain suggests the questionnaire's ``domain_similarity``.
"""

from __future__ import annotations

import numpy as np
import torch

from bench.data.units import TEXTS
from bench.evidence.logme import Transferability, logme, scored_sample, suggest_similarity
from bench.models.text_backbones import encoder_classifier, get_text_backbone
from bench.train.cache import TrialCache
from bench.train.config import TrialConfig
from bench.train.text_trial import ENCODE_BATCH, embeddings, encoder, text_dataset, tokens_for


def estimate_text_transferability(
    dataset: str, text_backbone: str = "all-minilm-l6-v2", examples: int | None = 1000, cache=None, seed: int = 0,
    max_tokens: int = 128, text_column: str | None = None, label_column: str | None = None,
) -> Transferability:  # fmt: skip
    """LogME of pretrained vs random-init sentence embeddings on (a sample of) the training split."""
    cache = cache or TrialCache()
    config = TrialConfig(dataset, "linear_probe", text_backbone=text_backbone, max_tokens=max_tokens,
                         text_column=text_column, label_column=label_column, device="cpu")  # fmt: skip
    data = text_dataset(cache, config)
    spec = get_text_backbone(text_backbone)
    idx = scored_sample(data, examples, seed, TEXTS)
    pretrained, _ = embeddings(cache, data, spec, config, idx)
    random_features = _random_init_embeddings(cache, data, spec, config, idx)
    scores = (logme(pretrained[idx], data.labels[idx]), logme(random_features, data.labels[idx]))
    return Transferability(
        round(scores[0], 4), round(scores[1], 4), len(idx), suggest_similarity(scores[0] - scores[1])
    )


@torch.inference_mode()
def _random_init_embeddings(cache, data, spec, config, idx: np.ndarray) -> np.ndarray:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = encoder_classifier(encoder(cache, spec), spec, num_classes=2, pretrained=False).eval()
    tokens = tokens_for(cache, data, spec, config, torch.device("cpu"))
    index = torch.as_tensor(idx)
    chunks = [model.embed(*tokens.batch(part)) for part in index.split(ENCODE_BATCH)]
    return torch.cat(chunks).numpy().astype(np.float32)
