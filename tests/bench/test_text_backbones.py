"""The text backbone registry: every entry builds and trains a step; the packaged encoder loads offline and
embeds exactly as the library's own ``encode``."""

from __future__ import annotations

import pytest
import torch

from bench.models.text_backbones import TEXT_BACKBONES, encoder_classifier, get_text_backbone
from bench.train.text_tokens import bucketed_order, hashed_ngrams

SENTENCES = ["A cat sat on the mat.", "def f(x):\n    return x + 1", "Das ist ein kurzer Satz.", "ok"]


@pytest.mark.parametrize("name", [n for n, s in TEXT_BACKBONES.items() if not s.has_pretrained])
def test_scratch_text_models_forward_and_backward(name):
    spec = get_text_backbone(name)
    model = spec.build_scratch(3)
    tokens = hashed_ngrams(tuple(SENTENCES), model.buckets, spec.max_seq_length)
    ids, mask = tokens.batch(torch.arange(4))
    assert ids.shape[1] == int(tokens.lengths.max())  # padded to the batch's own longest text
    logits = model(ids, mask)
    assert logits.shape == (4, 3)
    logits.sum().backward()
    assert model.embedding.weight.grad is not None and model.head.weight.grad is not None


def test_unknown_text_backbone_lists_the_registered_ones():
    with pytest.raises(ValueError, match="all-minilm-l6-v2"):
        get_text_backbone("bert-huge")


def test_length_buckets_keep_every_index_once_and_group_similar_lengths():
    lengths = torch.tensor([1, 50, 2, 49, 3, 48, 4, 47])
    order = bucketed_order(torch.arange(8), lengths, 2, torch.Generator().manual_seed(0))
    assert sorted(order.tolist()) == list(range(8))
    spreads = [int(lengths[pair].max() - lengths[pair].min()) for pair in order.split(2)]
    assert max(spreads) <= 1  # sorted within the bucket: no batch pairs a short text with a long one


@pytest.mark.slow
def test_packaged_minilm_loads_offline_and_matches_the_librarys_encode(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    spec = get_text_backbone("all-minilm-l6-v2")
    encoder = spec.load_encoder()
    # The registry's metadata is the loaded model's own.
    assert encoder.max_seq_length == spec.max_seq_length == 256
    assert encoder[1].pooling_mode == spec.pooling == "mean"
    assert encoder.encode(["x"]).shape[1] == spec.embedding_size == 384
    expected = encoder.encode(SENTENCES, convert_to_tensor=True)
    model = encoder_classifier(encoder, spec, num_classes=2).eval()
    encoded = encoder.tokenizer(SENTENCES, padding=True, truncation=True, max_length=spec.max_seq_length,
                                return_tensors="pt")  # fmt: skip
    with torch.no_grad():
        ours = model.embed(encoded["input_ids"], encoded["attention_mask"])
    ours = torch.nn.functional.normalize(ours, dim=1) if spec.normalize else ours
    assert torch.allclose(ours, expected, atol=1e-5)
    # Near-duplicates are closer than unrelated sentences: real weights, not random ones.
    a, b, c = encoder.encode(["The dog runs in the park.", "A dog is running in a park.", "Tax law is complex."])
    assert a @ b > a @ c + 0.3
