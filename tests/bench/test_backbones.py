"""Every registered backbone builds, runs forward and backward, and sizes its head to the task."""

import pytest
import torch

from bench.doctor import CHINA_RELATED, CHINA_TOP1, classify_sample_photo
from bench.errors import BenchInputError
from bench.models.backbones import BACKBONES, WeightsUnavailable, create_model, get_backbone, head_of


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_forward_backward_and_head(name):
    spec = get_backbone(name)
    torch.manual_seed(0)
    model = create_model(spec, num_classes=7, pretrained=False)
    assert head_of(model, spec).out_features == 7
    x = torch.randn(2, 3, 32, 32)
    out = model(x)
    assert out.shape == (2, 7)
    out.sum().backward()
    assert all(p.grad is not None for p in head_of(model, spec).parameters())
    blocks = spec.body_blocks(model)
    assert len(blocks) >= 3
    head_ids = {id(p) for p in head_of(model, spec).parameters()}
    assert not any(id(p) in head_ids for b in blocks for p in b.parameters()), "body blocks must exclude the head"


def test_efficientnet_lite0_weights_classify_a_real_photo():
    top5 = classify_sample_photo("efficientnet_lite0")
    top3 = [c for c, _ in top5[:3]]
    assert top3[0] == CHINA_TOP1, top5  # bell cote
    assert set(top3[1:]) & set(CHINA_RELATED), top5  # monastery or stupa close behind


def test_pretrained_head_is_replaced_and_body_is_kept():
    spec = get_backbone("efficientnet_lite0")
    pretrained = create_model(spec, None, pretrained=True)
    adapted = create_model(spec, 3, pretrained=True)
    assert head_of(pretrained, spec).out_features == 1000
    assert head_of(adapted, spec).out_features == 3
    assert torch.equal(pretrained.conv_stem.weight, adapted.conv_stem.weight)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small"])
def test_torchvision_weights_load_or_explain_how_to_get_them(name):
    spec = get_backbone(name)
    try:
        model = create_model(spec, 4, pretrained=True)
    except WeightsUnavailable as error:
        assert "Run once online" in str(error) and "efficientnet_lite0" in str(error)
    else:  # cached: the weights are the real ones, not a random init
        assert head_of(model, spec).out_features == 4
        first = next(model.parameters())
        fresh = next(spec.build(4).parameters())
        assert not torch.equal(first, fresh)


def test_scratch_only_backbone_refuses_pretrained():
    with pytest.raises(BenchInputError, match="has no pretrained weights"):
        create_model(get_backbone("compact_cnn"), 3, pretrained=True)


def test_unknown_backbone_lists_valid_names():
    with pytest.raises(BenchInputError, match="unknown backbone 'vit'; valid backbones are compact_cnn, efficientnet"):
        get_backbone("vit")
