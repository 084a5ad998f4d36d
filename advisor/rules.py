"""The rule table: every factor, its weight per strategy, and the evidence behind it.

How to read it. Each rule turns the profile into a *strength* in [0, 1] (how much the
rule applies) and adds ``strength * weight`` points to each strategy it names. A
strategy's score is the sum over rules. Weights are in points: 1 point is "a clear but
moderate push"; 3 points is "the literature reports a wide margin".

Two invariants keep the advice coherent, and the property tests check them:

* more labeled data, time or compute never makes ``scratch`` rank lower: in a rule whose
  strength falls as data or budget grow, ``scratch`` has the lowest weight; in one whose
  strength rises, the highest;
* lower domain similarity never makes ``linear_probe`` rank higher: in a rule whose
  strength rises with similarity, ``linear_probe`` has the highest weight, and in one
  whose strength rises as similarity falls, the lowest.

The thresholds are documented in docs/rules.md with the sources named in ``SOURCES``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from advisor.profile import DEFAULT_RESOLUTION, Profile
from advisor.vocabulary import Modality

SOURCES: dict[str, str] = {
    "he2019": "He, Girshick & Dollar 2019, 'Rethinking ImageNet Pre-training' (ICCV); detectron2 model zoo",
    "cs231n": "CS231n 'Transfer Learning' notes (Stanford), the dataset size x similarity 2x2",
    "raghu2019": "Raghu, Zhang, Kleinberg & Bengio 2019, 'Transfusion: Understanding Transfer Learning "
    "for Medical Imaging' (NeurIPS)",
    "vtab": "Zhai et al. 2019, 'A Large-scale Study of Representation Learning with the Visual Task "
    "Adaptation Benchmark' (VTAB-1k)",
    "ulmfit": "Howard & Ruder 2018, 'Universal Language Model Fine-tuning for Text Classification' (ACL)",
    "zoph2020": "Zoph et al. 2020, 'Rethinking Pre-training and Self-training' (NeurIPS)",
    "amos2024": "Amos, Berant & Gupta 2024, 'Never Train from Scratch: Fair Comparison of Long-Sequence "
    "Models Requires Data-Driven Priors' (ICLR)",
    "gururangan2020": "Gururangan et al. 2020, 'Don't Stop Pretraining: Adapt Language Models to Domains "
    "and Tasks' (ACL)",
    "kornblith2019": "Kornblith, Shlens & Le 2019, 'Do Better ImageNet Models Transfer Better?' (CVPR)",
    "yosinski2014": "Yosinski et al. 2014, 'How transferable are features in deep neural networks?' (NeurIPS)",
    "howard2019": "Howard et al. 2019, 'Searching for MobileNetV3' (ICCV); Tan & Le 2019, 'EfficientNet'",
    "grinsztajn2022": "Grinsztajn, Oyallon & Varoquaux 2022, 'Why do tree-based models still outperform "
    "deep learning on tabular data?' (NeurIPS Datasets and Benchmarks)",
    "rudin2019": "Rudin 2019, 'Stop explaining black box machine learning models for high stakes "
    "decisions and use interpretable models instead' (Nature Machine Intelligence)",
    "alain2016": "Alain & Bengio 2016, 'Understanding intermediate layers using linear classifier probes'",
    "neyshabur2020": "Neyshabur, Sedghi & Zhang 2020, 'What is being transferred in transfer learning?' (NeurIPS)",
    "lecun1998": "LeCun, Bottou, Bengio & Haffner 1998, 'Gradient-based learning applied to document "
    "recognition' (Proc. IEEE): LeNet-5, 60k parameters, trained from scratch on 28x28 digits",
    "jordan2024": "Jordan 2024, '94% on CIFAR-10 in 3.29 seconds on a single GPU' (airbench): compact "
    "CNNs for 32x32 inputs trained from scratch in seconds",
    "touvron2019": "Touvron, Vedaldi, Douze & Jegou 2019, 'Fixing the train-test resolution discrepancy' "
    "(NeurIPS): features depend on the apparent object size they were trained at",
    "tan2019": "Tan & Le 2019, 'EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks' "
    "(ICML): a network's FLOPs grow with the square of the input resolution",
    "kumar2022": "Kumar, Raghunathan, Jones, Ma & Liang 2022, 'Fine-Tuning can Distort Pretrained Features "
    "and Underperform Out-of-Distribution' (ICLR): LP-FT; the probe's edge is few labels and distribution shift",
    "jia2022": "Jia et al. 2022, 'Visual Prompt Tuning' (ECCV): full fine-tuning vs linear probe on VTAB-1k",
    "chen2020simclr": "Chen, Kornblith, Norouzi & Hinton 2020, 'A Simple Framework for Contrastive Learning of "
    "Visual Representations' (ICML): linear evaluation vs fine-tuning vs random init on 12 transfer datasets",
    "zhai2019full": "Zhai et al. 2019 (VTAB), full-data results: fine-tuned vs from-scratch with all training labels",
    "published": "This project's table of published outcomes, advisor/data/evidence/published.json "
    "(scripts/score_evidence.py): each rule lists the tuning rows it rests on",
    "fos_grid": "This project's own grid, data/grid/ (python scripts/check_rules.py): advice against "
    "measured fine-tune and scratch trials on the built-in datasets",
}

# How many "GPU-hours" one wall-clock hour of each compute tier buys. A laptop or server
# CPU trains a ResNet-class CNN roughly 20x slower than one modern GPU (our own
# `python -m bench perf` numbers are of that order); multi-GPU assumes a typical 4-GPU
# node at near-linear scaling; a cluster, a few such nodes.
GPU_HOURS_PER_HOUR: Mapping[str, float] = {"cpu": 0.05, "single_gpu": 1.0, "multi_gpu": 4.0, "cluster": 32.0}

# Domain similarity as a number in [0, 1]. "unknown" sits just below "medium": without a
# measurement we do not bet on frozen features (run `bench curve` / LogME to find out).
SIMILARITY_VALUE: Mapping[str, float] = {"high": 1.0, "medium": 0.6, "unknown": 0.4, "low": 0.0}


# Inputs at or below this side (pixels) are small: MNIST, CIFAR, SVHN (recipes size a network to them).
SMALL_INPUT_SIDE = 32
# The input-size ramp of the rules: fully small at <= 16 px, not at all at >= 64 px (log scale).
# Published rows at 64-96 px from distant domains (VTAB's EuroSAT, sNORB, Camelyon at full data;
# Models Genesis' LIDC nodules) have fine-tuning ahead of scratch, so 64 px no longer counts as small.
SMALL_INPUTS_FULL, SMALL_INPUTS_NONE = 16, 64


def ramp(value: float, low: float, high: float) -> float:
    """0 below ``low``, 1 above ``high``, linear in between."""
    return min(1.0, max(0.0, (value - low) / (high - low)))


def tightness(gpu_hours: float) -> float:
    """1 at <= 0.05 GPU-hours (one CPU-hour), 0 at >= 2 GPU-hours: only cheap adaptation fits."""
    return 1.0 - ramp(math.log10(gpu_hours), math.log10(0.05), math.log10(2.0))


def measured_tightness(share: float) -> float:
    """From a measured cost: 1 when the budget buys <= 10% of the recipe's schedule, 0 when it buys all of it.

    >>> measured_tightness(0.05), measured_tightness(1.0), round(measured_tightness(0.316), 2)
    (1.0, 0.0, 0.5)
    """
    return 1.0 - ramp(math.log10(max(share, 1e-9)), -1.0, 0.0)


@dataclass(frozen=True)
class Signals:
    """Quantities derived once from a profile; every rule reads these, never raw strings."""

    labeled: float  # labeled examples
    per_class: float  # labeled examples per class
    unlabeled: float
    similarity: float  # 0 (low) .. 1 (high)
    gpu_hours: float  # time budget converted to single-GPU hours
    resolution: float  # input side in pixels (images); DEFAULT_RESOLUTION for other modalities
    pretrained: bool
    modality: str
    edge: bool
    custom: bool
    interpretability: bool
    # Measured (advisor.measured): the share of full fine-tuning's and of scratch's recipe schedule the
    # budget buys. None: not measured, the budget factors use the fixed GPU-hour conversion.
    finetune_share: float | None = None
    scratch_share: float | None = None

    # --- data regimes (log10 scale) ---
    @property
    def very_few_labels(self) -> float:
        # 1 at <= 10 labels per class, 0 at >= 500: the VTAB-1k regime (1000 labels for up
        # to ~100 classes), where fine-tuned models beat scratch by 12-29 points.
        return 1.0 - ramp(math.log10(self.per_class), 1.0, math.log10(500))

    @property
    def few_shot(self) -> float:
        # 1 at <= 3 labels per class, 0 at >= 10: where frozen features beat fine-tuning. VTAB-1k
        # (Jia et al.): the probe led only on SUN397 (2.5 per class, by 12 points); at 10 or
        # more per class full fine-tuning led on 9 of 10 tasks with one GPU-hour.
        return 1.0 - ramp(math.log10(self.per_class), math.log10(3), 1.0)

    @property
    def compact_scratch_data(self) -> float:
        # 0 at <= 30 labels per class, 1 at >= 300: enough for a compact network sized to small
        # inputs to train to convergence (our Fashion-MNIST measurement: scratch led the probe by
        # 4-5 points from 300 per class with one CPU-hour).
        return ramp(math.log10(self.per_class), math.log10(30), math.log10(300))

    @property
    def small_data(self) -> float:
        # 1 at <= 50 per class, 0 at >= 1000 per class: CS231n's "small dataset" quadrant.
        return 1.0 - ramp(math.log10(self.per_class), math.log10(50), 3.0)

    @property
    def large_data(self) -> float:
        # 0 at 5k labels, 1 at 100k: enough data that a frozen backbone leaves accuracy on
        # the table (Kornblith et al.: fine-tuning beats fixed features on all 12 datasets).
        return ramp(math.log10(self.labeled), math.log10(5_000), 5.0)

    @property
    def scratch_scale_data(self) -> float:
        # 0 at 10k labels, 1 at ~300k: "hundreds of thousands" of labels, where He et al.
        # find scratch catches up (COCO, 118k images) and Transfusion finds small
        # from-scratch models competitive on large medical sets.
        return ramp(math.log10(self.labeled), 4.0, 5.5)

    # --- input size ---
    @property
    def small_inputs(self) -> float:
        # 1 at <= 16 px, 0.5 at 32 px (MNIST, CIFAR, SVHN: LeNet- and airbench-size networks
        # train from scratch in seconds), 0 at >= 64 px, log scale. At 32x stride, an ImageNet
        # backbone sees a 32-px input as a 1x1 feature map: it must upsample, far from the object
        # scale its features were learned at (Touvron et al.).
        return 1.0 - ramp(math.log2(self.resolution), math.log2(SMALL_INPUTS_FULL), math.log2(SMALL_INPUTS_NONE))

    @property
    def compact_inputs(self) -> float:
        # 1 at <= 32 px, 0 at >= 64 px (log scale): inputs a LeNet- or airbench-size network is
        # built for (MNIST, Fashion-MNIST, CIFAR, SVHN).
        return 1.0 - ramp(math.log2(self.resolution), math.log2(SMALL_INPUT_SIDE), math.log2(SMALL_INPUTS_NONE))

    @property
    def scratch_gpu_hours(self) -> float:
        # The budget in GPU-hours of scratch training at ImageNet size: a network sized to
        # smaller inputs does (224 / side)^2 less work per image (FLOPs grow with pixels, Tan &
        # Le). Fine-tuning gets no such discount: the pretrained backbone runs at its own size.
        return self.gpu_hours * (DEFAULT_RESOLUTION / self.resolution) ** 2

    # --- budget regimes ---
    @property
    def scratch_budget(self) -> float:
        # 0 at <= 3 GPU-hours, 1 at >= 200 (at ImageNet size). Scratch needs roughly 3x the
        # fine-tuning schedule to catch up (He et al. 2019): ~100 epochs of a ResNet-50 over
        # 10^5-10^6 images is tens to hundreds of GPU-hours.
        return ramp(math.log10(self.scratch_gpu_hours), math.log10(3), math.log10(200))

    @property
    def tight_budget(self) -> float:
        if self.finetune_share is not None:
            return measured_tightness(self.finetune_share)
        return tightness(self.gpu_hours)

    @property
    def tight_scratch_budget(self) -> float:
        # The same thresholds on the input-size-scaled budget: what a from-scratch model costs.
        if self.scratch_share is not None:
            return measured_tightness(self.scratch_share)
        return tightness(self.scratch_gpu_hours)

    @property
    def distant_domain(self) -> float:
        # 1 for "low", 1/3 for "unknown", 0 for "medium" and "high": only a clearly distant
        # domain makes scratch competitive at scale (Transfusion studied X-rays and retina scans).
        return ramp(1.0 - self.similarity, 0.4, 1.0)

    @property
    def not_close(self) -> float:
        # 0 for "high", 1 for "medium", "unknown" and "low": the data is not the natural photos
        # (or text, or speech) the backbone was pretrained on.
        return ramp(1.0 - self.similarity, 0.0, 0.4)

    @property
    def scratch_feasible(self) -> float:
        # Data and budget must both allow it: the product is 0 if either is missing.
        return self.scratch_scale_data * self.scratch_budget

    @property
    def unlabeled_pool(self) -> float:
        # Self-supervised pretraining needs a real pool (>= 10k, full at ~300k); the larger it is
        # beside the labeled set, the more it adds (0 at 0.3x, 1/3 at 1x, full at 10x). A pool
        # the size of the labels still counts: MAE and BEiT pretrain on ImageNet's own images
        # and beat scratch on ImageNet; BYOL with 1-10% of the labels, DAPT, wav2vec 2.0 with
        # 10x-100x more unlabeled than labeled data gain most.
        size = ramp(math.log10(self.unlabeled + 1), 4.0, 5.5)
        ratio = ramp(math.log10((self.unlabeled + 1) / self.labeled), math.log10(0.3), 1.0)
        return size * ratio


def signals_from_profile(profile: Profile) -> Signals:
    return Signals(
        labeled=float(profile.labeled_examples),
        per_class=profile.labeled_examples / profile.num_classes,
        unlabeled=float(profile.unlabeled_examples),
        similarity=SIMILARITY_VALUE[profile.domain_similarity],
        gpu_hours=profile.time_budget_hours * GPU_HOURS_PER_HOUR[profile.compute],
        resolution=float(profile.image_side),
        pretrained=profile.pretrained_available,
        modality=profile.modality,
        edge=profile.edge_deployment,
        custom=profile.custom_architecture,
        interpretability=profile.interpretability,
    )


@dataclass(frozen=True)
class Rule:
    """One factor: when it applies (``strength``) and how it pushes each strategy (``weights``)."""

    name: str
    title: str
    fields: tuple[str, ...]  # the profile fields it reads: what a user could change
    strength: Callable[[Signals], float]
    weights: Mapping[str, float]
    reason: str  # plain words, shown when the rule applies
    sources: tuple[str, ...]
    # Ids of the published rows (advisor/data/evidence/published.json, tuning part only) the rule
    # rests on, for or against: the weight is what those rows support.
    rows: tuple[str, ...] = ()


RULES: tuple[Rule, ...] = (
    Rule(
        "pretraining_default",
        "Pretraining is a strong default",
        (),
        lambda s: 1.0,
        # Fine-tuned ImageNet models beat fixed features and random init on 12 of 12
        # transfer datasets (Kornblith et al.); pretraining speeds convergence even
        # where it does not raise final accuracy (He et al.).
        # An in-domain pretraining stage starts from the pretrained weights where they exist
        # (ULMFiT, DAPT, CodeBERT), and is the pretraining where none exist (MAE, BEiT, BYOL): in
        # every tuning row that compared it with scratch, it won.
        {"partial_finetune": 0.5, "full_finetune": 0.5, "hybrid": 0.5},
        "Starting from pretrained weights rarely hurts and converges faster.",
        ("kornblith2019", "he2019", "published"),
        (
            "wu2018gn-coco-maskrcnn-r50",
            "chen2019med3d-lungseg-resnet50",
            "howard2018-trec6",
            "he2022mae-imagenet-vitl",
            "bao2022beit-imagenet-vitb",
            "grill2020byol-imagenet-1pct",
        ),
    ),
    Rule(
        "very_few_labels",
        "Very few labels per class, similar domain",
        ("labeled_examples", "num_classes", "domain_similarity"),
        lambda s: s.very_few_labels * s.similarity,
        # VTAB-1k: ~71% mean accuracy fine-tuned vs 42-59% from scratch with 1000 labels, the
        # widest gaps on natural images; ULMFiT: 100 labels match scratch trained on 100x
        # more. The margin shrinks as the domain moves away from the pretraining data
        # (VTAB's structured group, Transfusion, Neyshabur et al.), hence the similarity factor.
        # Published rows: pretrained beats scratch by 5-22 points at 150-400 labels per class
        # (Med3D); among pretrained strategies the weight is equal: at 10-500 per class full
        # fine-tuning led the probe on VTAB-1k (the few-shot rule below gives the probe its edge).
        {"linear_probe": 1.5, "partial_finetune": 1.0, "full_finetune": 1.0, "scratch": -2.0},
        "With this few labels per class in a familiar domain, pretrained features win by wide margins.",
        ("vtab", "ulmfit", "neyshabur2020", "published"),
        (
            "chen2019med3d-lungseg-resnet50",
            "chen2019med3d-nodulecls-resnet50",
            "zhai2019vtab-full-pets",
            "zhai2019vtab-full-flowers102",
            "jia2022vpt-vtab1k-flowers102",
            "jia2022vpt-vtab1k-cifar100",
        ),
    ),
    Rule(
        "few_shot_probe",
        "A handful of labels per class, similar domain",
        ("labeled_examples", "num_classes", "domain_similarity"),
        lambda s: s.few_shot * s.similarity,
        # With about 3 labels per class or fewer, fine-tuning the whole network overfits and a
        # linear head on frozen features leads (VTAB-1k SUN397, 2.5 per class: probe +12 points;
        # Kumar et al.: the probe's edge is few labels and distribution shift).
        {"linear_probe": 2.5, "partial_finetune": 0.5},
        "With a handful of labels per class from a familiar domain, a linear head on frozen features "
        "beats fine-tuning: there is too little to adapt the backbone on.",
        ("kumar2022", "jia2022", "published"),
        ("jia2022vpt-vtab1k-sun397",),
    ),
    Rule(
        "very_few_labels_any_domain",
        "Very few labels per class",
        ("labeled_examples", "num_classes", "input_resolution"),
        lambda s: s.very_few_labels * (1.0 - s.small_inputs),
        # Whatever the domain, an ImageNet-size network trained from scratch on a handful of
        # labels per class overfits; pretrained weights still help optimisation (Neyshabur et
        # al.). Not for small inputs: the network sized to them is tiny (LeNet-5: 60k
        # parameters) and our grid measured it learning 8x8 digits from 10 labels per class.
        {"scratch": -1.0},
        "With this few labels per class, a network trained from scratch overfits easily.",
        ("vtab", "neyshabur2020", "fos_grid"),
    ),
    Rule(
        "small_and_similar",
        "Small dataset, similar domain",
        ("labeled_examples", "num_classes", "domain_similarity"),
        lambda s: s.small_data * s.similarity,
        # CS231n quadrant 1: train a linear classifier on the pretrained features;
        # fine-tuning everything risks overfitting.
        # Weakened from linear +2: in the published tuning rows at 20-250 labels per class
        # (SimCLR's transfer table, VTAB-1k, I3D) full fine-tuning led the probe in 15 of 17 with
        # a GPU; the probe led only on DTD (by 0.3) and retinopathy (by 0.1). What remains is the
        # probe's lower risk.
        {"linear_probe": 0.5, "partial_finetune": 0.5},
        "Small data close to the pretraining domain: a linear classifier on frozen features "
        "is accurate and cannot overfit the backbone.",
        ("cs231n", "alain2016", "published"),
        (
            "chen2020simclr-dtd",
            "chen2020simclr-pets",
            "chen2020simclr-flowers",
            "chen2020simclr-cars",
            "jia2022vpt-vtab1k-retinopathy",
            "carreira2017i3d-hmdb51-i3d-twostream",
        ),
    ),
    Rule(
        "finetune_when_affordable",
        "Compute allows fine-tuning",
        ("labeled_examples", "num_classes", "time_budget_hours", "compute"),
        lambda s: (1.0 - s.few_shot) * (1.0 - s.tight_budget),
        # Later large transfer studies: with the compute to fine-tune and more than a handful of
        # labels per class, fine-tuning is at least as good as fixed features on nearly every
        # dataset (Kornblith et al. 12 of 12; SimCLR's transfer table; VTAB-1k at 10-500 labels per
        # class with one GPU-hour: 9 of 10; I3D on UCF-101 and HMDB-51; BERT on CoNLL NER). The
        # probe's remaining edges are cost (the tight-budget rule) and distribution shift, which
        # the questionnaire does not ask (the LP-FT out-of-distribution rows: probe ahead).
        # Written as a penalty on the probe alone, so more data or budget never lowers scratch.
        {"linear_probe": -2.0, "partial_finetune": -0.5},
        "You have the compute to fine-tune and more than a handful of labels per class: published "
        "comparisons find fine-tuning at least as good as frozen features in nearly every such setting.",
        ("kornblith2019", "jia2022", "chen2020simclr", "kumar2022", "published"),
        (
            "jia2022vpt-vtab1k-cifar100",
            "jia2022vpt-vtab1k-svhn",
            "jia2022vpt-vtab1k-flowers102",
            "chen2020simclr-sun397",
            "chen2020simclr-voc2007",
            "carreira2017i3d-ucf101-i3d-twostream",
            "devlin2019-conll03-ner",
            "zhu2024vrf-imagenet-id-vitb16",
            "kumar2022lpft-fmow-id",
            "kumar2022lpft-living17-ood",
            "zhu2024vrf-imagenet-ood-vitb16",
        ),
    ),
    Rule(
        "small_and_different",
        "Small dataset, different domain",
        ("labeled_examples", "num_classes", "domain_similarity"),
        lambda s: s.small_data * (1.0 - s.similarity),
        # CS231n quadrant 3 and Transfusion: higher layers are task-specific, so adapt more
        # of the network; but too little data for scratch. linear_probe and scratch share
        # the lowest weight (both invariants).
        {"linear_probe": -1.0, "partial_finetune": 1.0, "full_finetune": 1.5, "scratch": -1.0, "hybrid": 0.5},
        "Little data from a domain unlike the pretraining data: fine-tune more of the network "
        "(its upper layers are too specific); for ImageNet-size inputs it is too little to start from scratch.",
        ("cs231n", "raghu2019", "yosinski2014"),
    ),
    Rule(
        "similar_domain",
        "Similar domain",
        ("domain_similarity",),
        lambda s: s.similarity,
        # Transfer gains shrink as the target moves away from the source (Yosinski et al.);
        # frozen features benefit most from similarity.
        {"linear_probe": 1.5, "partial_finetune": 1.2, "full_finetune": 1.0},
        "The closer your data is to the pretraining data, the more of the pretrained network you can keep as is.",
        ("yosinski2014", "cs231n"),
    ),
    Rule(
        "plenty_of_labels",
        "Plenty of labels",
        ("labeled_examples",),
        lambda s: s.large_data,
        # CS231n quadrant 2 (large + similar: fine-tune everything); Kornblith et al.:
        # fixed features trail fine-tuning more as data grows.
        {"linear_probe": -2.0, "partial_finetune": -1.0},
        "With this many labels, a frozen backbone leaves accuracy on the table: train all layers.",
        ("cs231n", "kornblith2019"),
    ),
    Rule(
        "scratch_scale",
        "Scratch-scale data and budget",
        ("labeled_examples", "time_budget_hours", "compute"),
        lambda s: s.scratch_feasible,
        # He et al.: with ~10^5 labeled images and ~3x the schedule, scratch matches
        # ImageNet-pretrained fine-tuning on COCO, even in a similar domain. Catches up, does not
        # pass: in the published rows at 10^5-10^6 labels fine-tuning stays ahead by 1-9 points
        # (COCO with group norm, Common Voice): scratch and full fine-tuning get the same push,
        # a tie that goes to fine-tuning, which needs a third of the schedule.
        {"scratch": 0.8, "full_finetune": 0.8},
        "Hundreds of thousands of labels and a large budget make scratch viable, given about 3x "
        "the fine-tuning schedule.",
        ("he2019", "published"),
        (
            "wu2018gn-coco-maskrcnn-r50",
            "wu2018gn-coco-maskrcnn-r101",
            "ravanelli2021-commonvoice-english",
            "ravanelli2021-commonvoice-french",
            "zhu2024vrf-imagenet-id-vitb16",
        ),
    ),
    Rule(
        "large_and_different",
        "Large dataset, different domain",
        ("labeled_examples", "time_budget_hours", "compute", "domain_similarity"),
        lambda s: s.scratch_feasible * s.distant_domain,
        # CS231n quadrant 4 and Transfusion: with lots of data far from ImageNet, small
        # models trained from scratch match pretrained ones, and can be much smaller.
        # Weakened from scratch +3: at full data far from ImageNet (VTAB's Camelyon, retinopathy,
        # CLEVR, RESISC; NIH chest X-rays) fine-tuning still led scratch, by 0.07-8.5 points; scratch
        # led only on sNORB azimuth, by 0.1. Scratch is competitive here, not ahead: it gets the
        # same push as full fine-tuning and in-domain pretraining.
        {"scratch": 1.0, "full_finetune": 1.0, "hybrid": 1.0},
        "Lots of data from a distant domain, and the budget to use it: scratch is competitive "
        "and lets you size the architecture to the task.",
        ("cs231n", "raghu2019", "he2019", "zhai2019full", "published"),
        (
            "zhai2019vtab-full-camelyon",
            "zhai2019vtab-full-retinopathy",
            "zhai2019vtab-full-clevr-count",
            "zhai2019vtab-full-resisc45",
            "zhai2019vtab-full-smallnorb-azim",
            "zhou2021genesis-chestxray14-dxc",
        ),
    ),
    Rule(
        "tight_budget",
        "Tight compute budget",
        ("time_budget_hours", "compute"),
        lambda s: s.tight_budget,
        # A linear probe costs one feature pass; training few layers costs little more.
        # scratch shares the lowest weight; what it costs beyond that depends on the input
        # size and is the next rule.
        {"linear_probe": 2.0, "partial_finetune": 1.0, "full_finetune": -0.5, "scratch": -0.5, "hybrid": -0.5},
        "A small budget: cheap adaptation (frozen features, few trainable layers) finishes first.",
        ("kornblith2019",),
    ),
    Rule(
        "tight_scratch_budget",
        "Budget short for training from scratch",
        ("time_budget_hours", "compute", "input_resolution"),
        lambda s: s.tight_scratch_budget,
        # Scratch needs ~3x the fine-tuning schedule (He et al.); self-supervised pretraining
        # is costlier still. Both train a network sized to the input, so the budget is
        # scaled by input pixels (Tan & Le): 28x28 images cost 1/64 of ImageNet-size ones.
        # At ImageNet size this and the rule above add up to scratch -2, hybrid -2.
        {"scratch": -1.5, "hybrid": -1.5},
        "The budget is short for training a network of this input size from scratch, or for a pretraining stage.",
        ("he2019", "tan2019"),
    ),
    Rule(
        "small_distant_inputs",
        "Small inputs from a distant domain",
        ("input_resolution", "domain_similarity"),
        lambda s: s.small_inputs * s.distant_domain,
        # A compact CNN sized to small inputs learns from few labels and trains from scratch
        # in seconds (LeNet-5 on 28x28 digits; airbench: 94% on CIFAR-10 in 3.3 s). An
        # ImageNet backbone must upsample them, far from the object scale its features were
        # learned at (Touvron et al.), and in a distant domain those features carry little
        # (Transfusion). Our grid, 8x8 digits: scratch beat every fine-tuning arm by 5-8
        # points (p < 0.03) at 100, 300 and 1000 labels. The swing (5 points between scratch
        # and the pretrained strategies) is the table's widest because it must outweigh the
        # small-data and tight-budget rules, whose premise (an ImageNet-size network needing
        # many labels and GPU-hours) fails here. In a similar domain (CIFAR-10 photos)
        # fine-tuning still wins (Kornblith et al.), so the rule needs both conditions.
        # linear_probe shares the lowest weight (similarity invariant).
        # The input-size ramp now ends at 64 px: at 64-96 px in distant domains the published
        # rows have fine-tuning ahead (EuroSAT, sNORB elevation, LIDC nodules).
        {"scratch": 2.5, "linear_probe": -2.5, "partial_finetune": -2.5, "full_finetune": -2.5},
        "Small inputs unlike the pretraining photos: a compact network sized to them trains from scratch "
        "quickly, and pretrained features computed on upsampled images carry little.",
        ("lecun1998", "jordan2024", "touvron2019", "raghu2019", "kornblith2019", "fos_grid", "published"),
        ("zhai2019vtab-full-eurosat", "zhai2019vtab-full-smallnorb-elev", "zhou2021genesis-lidc-ncs-2d"),
    ),
    Rule(
        "compact_scratch",
        "Small inputs, enough labels and time to train a compact network",
        ("input_resolution", "labeled_examples", "num_classes", "time_budget_hours", "compute", "domain_similarity"),
        lambda s: s.compact_inputs * s.compact_scratch_data * (1.0 - s.tight_scratch_budget) * s.not_close,
        # On the built-in Fashion-MNIST (28 px) with 3,000-10,000 labels and one CPU-hour, a
        # compact CNN trained from scratch to convergence led the probe by 4-5 points (0.866 vs
        # 0.822 at 3,000): LeNet- and airbench-size networks need hundreds of labels per class and
        # minutes, not GPU-days. Not for natural photos ("high" similarity): on CIFAR-100 at 32 px
        # fine-tuning ImageNet models led scratch by 6-42 points (SimCLR, BEiT). Scratch and linear
        # probe are the highest and lowest weights, so all three invariants hold.
        {"scratch": 2.0},
        "Small inputs, hundreds of labels per class and the time to train a compact network to "
        "convergence: a network sized to the images, trained from scratch, is a real contender.",
        ("lecun1998", "jordan2024", "fos_grid", "published"),
        ("chen2020simclr-cifar100", "bao2022beit-cifar100-vitb"),
    ),
    Rule(
        "unlabeled_in_domain",
        "Abundant in-domain unlabeled data",
        ("unlabeled_examples", "labeled_examples", "num_classes", "domain_similarity"),
        lambda s: s.unlabeled_pool,
        # Self-training and in-domain pretraining help most with few labels or a distant
        # domain (Zoph et al.; Gururangan et al.); pretraining on the task's own data beats
        # scratch by wide margins (Amos et al.). No longer limited to few labels or a distant
        # domain: wav2vec 2.0 (LibriSpeech, a similar domain, 281k labeled utterances) and
        # CodeBERT (code, 25k-250k labeled pairs) gained from a pool 8-55x the labels.
        {"hybrid": 3.0},
        "A large unlabeled pool from your domain: pretrain on it (self-supervised or continued "
        "pretraining), then fine-tune.",
        ("zoph2020", "amos2024", "gururangan2020", "published"),
        (
            "baevski2020-librispeech960-test-other",
            "feng2020-code2nl-python",
            "feng2020-code2nl-go",
            "grill2020byol-imagenet-10pct",
            "he2022mae-imagenet-vitl",
            "bao2022beit-imagenet-vitb",
        ),
    ),
    Rule(
        "no_unlabeled_pool",
        "No unlabeled pool to pretrain on",
        ("unlabeled_examples",),
        lambda s: 1.0 - ramp(math.log10(s.unlabeled + 1), 3.0, 5.0),
        # A pretraining stage needs data beyond the labeled set: fewer than ~1k unlabeled
        # examples is too little for self-supervised learning to pay off, and the penalty fades
        # out only at ~100k (it ended at 10k before the in-domain stage got the pretrained start's
        # push: with it, a pool of 16k would have put the stage first). The published pools that
        # paid off hold 1.28M-15.6M examples; Models Genesis' 86k chest X-rays tied fine-tuning.
        {"hybrid": -2.0},
        "Too little unlabeled data for an in-domain pretraining stage to pay off.",
        ("zoph2020", "published"),
        ("zhou2021genesis-lidc-ncs-2d", "zhou2021genesis-chestxray14-dxc", "baevski2020-librispeech960-test-other"),
    ),
    Rule(
        "edge_deployment",
        "Edge deployment",
        ("edge_deployment", "labeled_examples", "time_budget_hours", "compute"),
        lambda s: float(s.edge) * s.scratch_feasible,
        # A task-sized model trained from scratch can be far smaller (Transfusion); only
        # worth it when data and budget allow scratch at all.
        {"scratch": 2.0},
        "The model must be small, and data and budget allow training a compact architecture from scratch.",
        ("raghu2019", "howard2019"),
    ),
    Rule(
        "edge_compact_pretrained",
        "Edge deployment with limited data or budget",
        ("edge_deployment", "labeled_examples", "time_budget_hours", "compute"),
        lambda s: float(s.edge) * (1.0 - s.scratch_feasible),
        # Compact pretrained families (MobileNetV3, EfficientNet-Lite) exist for exactly this.
        {"partial_finetune": 0.5, "full_finetune": 0.5},
        "The model must be small but data or budget are limited: fine-tune a compact pretrained model "
        "(MobileNetV3, EfficientNet-Lite) rather than training one from scratch.",
        ("howard2019",),
    ),
    Rule(
        "custom_architecture",
        "Custom architecture",
        ("custom_architecture", "labeled_examples", "time_budget_hours", "compute"),
        lambda s: float(s.custom) * s.scratch_feasible,
        # A new architecture has no pretrained weights; with data and budget, train it.
        {"scratch": 2.0, "hybrid": 1.0},
        "A custom architecture has no pretrained weights, and data and budget allow training it.",
        ("he2019", "amos2024"),
    ),
    Rule(
        "custom_architecture_limited",
        "Custom architecture with limited data or budget",
        ("custom_architecture", "labeled_examples", "time_budget_hours", "compute"),
        lambda s: float(s.custom) * (1.0 - s.scratch_feasible),
        # Keep a pretrained backbone and put the custom part on top (or pretrain the
        # custom model on in-domain unlabeled data first).
        {"partial_finetune": 0.5, "full_finetune": 0.5, "hybrid": 0.5},
        "A custom architecture with limited data: keep a pretrained backbone and make the custom part the head.",
        ("amos2024", "yosinski2014"),
    ),
    Rule(
        "interpretability",
        "Interpretability required",
        ("interpretability",),
        lambda s: float(s.interpretability),
        # A linear head over fixed features is the most inspectable deep option; if this is
        # a hard requirement, also consider an inherently interpretable model (Rudin).
        {"linear_probe": 1.0, "partial_finetune": 0.5},
        "Interpretability is required: a linear head over fixed features can be inspected weight by "
        "weight; consider an inherently interpretable model too.",
        ("rudin2019", "alain2016"),
    ),
    Rule(
        "text_language_models",
        "Text: pretrained language models",
        ("modality",),
        lambda s: float(s.modality == Modality.TEXT),
        # ULMFiT and its successors: fine-tuning all layers of a pretrained LM is the standard.
        # Published rows: the pretrained pipeline beat the same pipeline from scratch on all five
        # ULMFiT datasets (5.5k-650k labels), the in-domain LM stage included (hence hybrid too);
        # BERT fine-tuned led its frozen features on CoNLL NER.
        {"full_finetune": 1.0, "hybrid": 1.0, "scratch": -1.0},
        "For text, fine-tuning a pretrained language model end to end is the established default.",
        ("ulmfit", "published"),
        (
            "howard2018-trec6",
            "howard2018-imdb",
            "howard2018-agnews",
            "howard2018-dbpedia",
            "howard2018-yelp-full",
            "devlin2019-conll03-ner",
        ),
    ),
    Rule(
        "audio_pretrained_encoders",
        "Audio: pretrained speech encoders",
        ("modality",),
        lambda s: float(s.modality == Modality.AUDIO),
        # Pretrained audio encoders (wav2vec 2.0, HuBERT) beat models trained from scratch on
        # speech tasks: frozen, with a light head, on SUPERB (ASR, phonemes, emotion); fine-tuned,
        # in SpeechBrain on Common Voice and TIMIT, at 3.7k-560k labeled utterances.
        {"linear_probe": 0.5, "full_finetune": 0.5, "scratch": -1.5},
        "For audio, pretrained speech encoders (wav2vec 2.0, HuBERT) beat models trained from scratch, "
        "frozen or fine-tuned.",
        ("published",),
        ("yang2021superb-asr", "yang2021superb-er", "ravanelli2021-commonvoice-english", "ravanelli2021-timit-per"),
    ),
    Rule(
        "tabular_data",
        "Tabular data",
        ("modality",),
        lambda s: float(s.modality == Modality.TABULAR),
        # Tree ensembles and task-specific models trained from scratch still beat deep and
        # pretrained models on medium tabular data.
        {"scratch": 2.0},
        "For tabular data, models trained on your data (gradient-boosted trees first) usually beat pretrained ones.",
        ("grinsztajn2022",),
    ),
)
RULE_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}

# Below this strength a rule is shown as "does not apply" (its contribution is ~0 anyway).
MIN_STRENGTH = 0.05
