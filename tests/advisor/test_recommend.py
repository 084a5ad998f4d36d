"""Scenario table from the literature, plus properties every valid profile must satisfy."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor import STRATEGY_NAMES, profile_from_mapping, recommend
from advisor.profile import COMPUTES, MODALITIES, SIMILARITIES
from advisor.rules import RULES, SOURCES
from advisor.scoring import score_profile
from advisor.shipped import RULES_PAGE

BASE = {
    "modality": "image",
    "labeled_examples": 500,
    "num_classes": 10,
    "domain_similarity": "high",
    "pretrained_available": True,
    "time_budget_hours": 2,
    "compute": "single_gpu",
}

# (name, changes to BASE, acceptable top strategies, strategies that must NOT be first)
SCENARIOS = [
    # CS231n 2x2
    ("small + similar -> linear classifier", {}, {"linear_probe"}, set()),
    (
        "small + different -> fine-tune more, not scratch",
        {"domain_similarity": "low", "time_budget_hours": 8},
        {"partial_finetune", "full_finetune"},
        {"scratch"},
    ),
    (
        "large + similar -> fine-tune everything",
        {"labeled_examples": 200_000, "num_classes": 100, "time_budget_hours": 48},
        {"full_finetune"},
        set(),
    ),
    (
        "large + different + budget -> scratch competitive",
        {
            "labeled_examples": 500_000,
            "num_classes": 100,
            "domain_similarity": "low",
            "compute": "multi_gpu",
            "time_budget_hours": 72,
        },
        {"scratch"},
        set(),
    ),
    # He et al.: too small a budget and fine-tuning still wins even with lots of data
    (
        "large + different but 2 CPU hours -> not scratch",
        {"labeled_examples": 500_000, "num_classes": 100, "domain_similarity": "low", "compute": "cpu"},
        {"linear_probe", "partial_finetune", "full_finetune"},
        {"scratch"},
    ),
    # VTAB-1k / ULMFiT
    (
        "very few labels, any domain -> never scratch",
        {"labeled_examples": 100, "domain_similarity": "low", "compute": "cluster", "time_budget_hours": 100},
        {"linear_probe", "partial_finetune", "full_finetune"},
        {"scratch"},
    ),
    (
        "no pretrained model -> scratch",
        {"pretrained_available": False, "labeled_examples": 5000, "time_budget_hours": 8},
        {"scratch"},
        set(),
    ),
    (
        "no pretrained model + big unlabeled pool -> hybrid",
        {
            "pretrained_available": False,
            "labeled_examples": 2000,
            "unlabeled_examples": 1_000_000,
            "domain_similarity": "low",
            "compute": "multi_gpu",
            "time_budget_hours": 48,
        },
        {"hybrid"},
        set(),
    ),
    (
        "edge deployment with little data -> fine-tune a compact pretrained model",
        {"edge_deployment": True, "labeled_examples": 2000, "domain_similarity": "medium", "time_budget_hours": 8},
        {"partial_finetune", "full_finetune", "linear_probe"},
        {"scratch"},
    ),
    (
        "edge deployment with data and budget -> scratch",
        {
            "edge_deployment": True,
            "labeled_examples": 300_000,
            "num_classes": 50,
            "domain_similarity": "medium",
            "compute": "multi_gpu",
            "time_budget_hours": 72,
        },
        {"scratch"},
        set(),
    ),
    (
        "abundant unlabeled, few labels, distant domain -> hybrid",
        {
            "labeled_examples": 1000,
            "unlabeled_examples": 1_000_000,
            "domain_similarity": "low",
            "compute": "multi_gpu",
            "time_budget_hours": 48,
        },
        {"hybrid"},
        set(),
    ),
    (
        "tabular with plenty of data -> scratch",
        {
            "modality": "tabular",
            "labeled_examples": 50_000,
            "domain_similarity": "unknown",
            "compute": "cpu",
            "time_budget_hours": 8,
        },
        {"scratch"},
        set(),
    ),
    # Input size (LeNet, airbench, FixRes; our grid on 8x8 digits)
    (
        "8x8 images of a distant domain, minutes on a CPU -> scratch",
        {
            "labeled_examples": 300,
            "domain_similarity": "low",
            "input_resolution": 8,
            "compute": "cpu",
            "time_budget_hours": 0.1,
        },
        {"scratch"},
        set(),
    ),
    (
        "32 px photos with plenty of labels -> still fine-tune (Kornblith et al. on CIFAR-10)",
        {"labeled_examples": 50_000, "input_resolution": 32, "time_budget_hours": 8},
        {"full_finetune", "partial_finetune"},
        {"scratch"},
    ),
    (
        "28 px, few labels, medium similarity -> frozen features (our grid on Fashion-MNIST)",
        {
            "labeled_examples": 1000,
            "domain_similarity": "medium",
            "input_resolution": 28,
            "compute": "cpu",
            "time_budget_hours": 0.01,
        },
        {"linear_probe"},
        {"scratch"},
    ),
    (
        "input size is ignored for text",
        {
            "modality": "text",
            "labeled_examples": 20_000,
            "num_classes": 4,
            "domain_similarity": "low",
            "input_resolution": 8,
            "time_budget_hours": 8,
        },
        {"full_finetune", "partial_finetune"},
        {"scratch"},
    ),
    (
        "text, medium data -> fine-tune the language model",
        {
            "modality": "text",
            "labeled_examples": 20_000,
            "num_classes": 4,
            "domain_similarity": "medium",
            "time_budget_hours": 8,
        },
        {"full_finetune"},
        set(),
    ),
]


@pytest.mark.parametrize(("name", "changes", "acceptable", "forbidden"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_scenario(name, changes, acceptable, forbidden):
    rec = recommend(profile_from_mapping({**BASE, **changes}))
    assert rec.strategy in acceptable, f"{name}: got {rec.strategy}, ranking {rec.ranking}"
    assert rec.strategy not in forbidden


def test_recommendation_has_everything_the_issue_asks_for():
    rec = recommend(profile_from_mapping({**BASE, "domain_similarity": "low", "time_budget_hours": 8}))
    data = rec.to_dict()
    assert {"strategy", "confidence", "ranking", "factors", "counterfactuals", "recipe"} <= set(data)
    assert next(r["strategy"] for r in data["ranking"]) == data["strategy"]
    assert sorted(r["strategy"] for r in data["ranking"]) == sorted(STRATEGY_NAMES)
    scores = [r["score"] for r in data["ranking"]]
    assert scores == sorted(scores, reverse=True)
    # factors add up to each strategy's score
    for ranked in rec.ranking:
        total = sum(f["points"] for f in data["factors"] if f["strategy"] == ranked.strategy)
        assert total == pytest.approx(ranked.score, abs=0.01)
    assert all(reason.source for reason in rec.reasons)
    recipe = data["recipe"]
    for key in (
        "freeze",
        "lr_body",
        "lr_head",
        "schedule",
        "epochs",
        "batch_norm",
        "regularisation",
        "augmentation",
        "early_stopping",
        "measure",
    ):
        assert recipe[key], key


def test_input_resolution_counts_for_images_only():
    for modality in ("text", "tabular", "audio", "other"):
        base = profile_from_mapping({**BASE, "modality": modality, "domain_similarity": "low"})
        assert score_profile(base.replace(input_resolution=8)) == score_profile(base), modality
    image = profile_from_mapping({**BASE, "domain_similarity": "low"})
    assert score_profile(image.replace(input_resolution=8)) != score_profile(image)


def test_recipes_follow_the_input_size():
    from advisor.recipes import recipe_for

    digits = profile_from_mapping({**BASE, "domain_similarity": "low", "input_resolution": 8, "compute": "cpu"})
    assert "8 px" in recipe_for("scratch", digits).backbone
    assert any("Upsample the 8 px images" in note for note in recipe_for("partial_finetune", digits).notes)
    photos = profile_from_mapping(BASE)
    assert "px inputs" not in recipe_for("scratch", photos).backbone
    assert not any("Upsample" in note for note in recipe_for("partial_finetune", photos).notes)


def test_small_distant_inputs_rule_explains_itself():
    rec = recommend(profile_from_mapping({**BASE, "domain_similarity": "low", "input_resolution": 8}))
    assert "small_distant_inputs" in {reason.rule for reason in rec.reasons}


def test_confidence_is_low_when_top_two_are_close_and_high_when_far():
    """Confidence is the chance the top strategy measures best: a coin toss near a tie, near 1 far apart."""
    close = recommend(profile_from_mapping({**BASE, "domain_similarity": "low", "time_budget_hours": 8}))
    far = recommend(
        profile_from_mapping(
            {
                **BASE,
                "labeled_examples": 500_000,
                "num_classes": 100,
                "domain_similarity": "low",
                "compute": "multi_gpu",
                "time_budget_hours": 72,
            }
        )
    )
    margin = lambda rec: rec.ranking[0].score - rec.ranking[1].score  # noqa: E731
    assert margin(close) < margin(far)
    assert 0.5 <= close.confidence < 0.75 and far.confidence > 0.9


def test_counterfactuals_really_change_the_top_strategy():
    profile = profile_from_mapping(BASE)
    rec = recommend(profile)
    assert rec.counterfactuals
    for cf in rec.counterfactuals:
        changed = profile.replace(**{c.field: c.new for c in cf.changes})
        assert score_profile(changed).top == cf.strategy != rec.strategy
        assert cf.text.startswith("With ")


def test_counterfactual_for_scratch_names_data_and_budget():
    profile = profile_from_mapping(
        {**BASE, "labeled_examples": 20_000, "domain_similarity": "low", "time_budget_hours": 24}
    )
    texts = [cf.text for cf in recommend(profile).counterfactuals if cf.strategy == "scratch"]
    assert texts, "some change should make scratch rank first"
    assert "labeled examples" in texts[0] or "compute" in texts[0] or "time budget" in texts[0]


def test_without_pretrained_model_fine_tuning_is_ruled_out():
    rec = recommend(profile_from_mapping({**BASE, "pretrained_available": False}))
    ruled_out = [r.strategy for r in rec.ranking if not r.feasible]
    assert set(ruled_out) == {"linear_probe", "partial_finetune", "full_finetune"}
    assert [r.strategy for r in rec.ranking][-3:] == ruled_out
    assert rec.reasons[0].rule == "no_pretrained_model"


def test_every_rule_cites_known_sources():
    for rule in RULES:
        assert rule.sources and all(key in SOURCES for key in rule.sources), rule.name
        assert set(rule.weights) <= set(STRATEGY_NAMES), rule.name


# ---- properties ------------------------------------------------------------------------------

counts = st.integers(min_value=1, max_value=10**8)
profiles = (
    st.fixed_dictionaries(
        {
            "modality": st.sampled_from(MODALITIES),
            "labeled_examples": counts,
            "num_classes": st.integers(min_value=2, max_value=10_000),
            "domain_similarity": st.sampled_from(SIMILARITIES),
            "pretrained_available": st.booleans(),
            "unlabeled_examples": st.integers(min_value=0, max_value=10**9),
            "time_budget_hours": st.floats(min_value=0.01, max_value=10_000, allow_nan=False),
            "compute": st.sampled_from(COMPUTES),
            "custom_architecture": st.booleans(),
            "edge_deployment": st.booleans(),
            "interpretability": st.booleans(),
            "input_resolution": st.integers(min_value=1, max_value=4096),
        }
    )
    .map(lambda d: {**d, "labeled_examples": max(d["labeled_examples"], d["num_classes"])})
    .map(profile_from_mapping)
)


def rank_of(strategy, profile):
    return [r.strategy for r in score_profile(profile).ranking].index(strategy)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles)
def test_every_valid_profile_gets_a_recommendation(profile):
    rec = recommend(profile)
    assert rec.strategy in STRATEGY_NAMES
    assert 0.0 <= rec.confidence <= 1.0
    assert rec.recipe.strategy == rec.strategy


@settings(max_examples=300, deadline=None)
@given(profiles, st.floats(min_value=1.01, max_value=1000))
def test_more_labeled_data_never_ranks_scratch_lower(profile, factor):
    more = profile.replace(labeled_examples=min(10**10, round(profile.labeled_examples * factor)))
    assert rank_of("scratch", more) <= rank_of("scratch", profile)


@settings(max_examples=300, deadline=None)
@given(profiles, st.floats(min_value=1.01, max_value=1000))
def test_more_time_never_ranks_scratch_lower(profile, factor):
    more = profile.replace(time_budget_hours=min(1e10, profile.time_budget_hours * factor))
    assert rank_of("scratch", more) <= rank_of("scratch", profile)


@settings(max_examples=300, deadline=None)
@given(profiles)
def test_more_compute_never_ranks_scratch_lower(profile):
    for bigger in COMPUTES[COMPUTES.index(profile.compute) + 1 :]:
        assert rank_of("scratch", profile.replace(compute=bigger)) <= rank_of("scratch", profile)


@settings(max_examples=300, deadline=None)
@given(profiles, st.floats(min_value=1.01, max_value=100))
def test_smaller_inputs_never_rank_scratch_lower(profile, factor):
    smaller = profile.replace(input_resolution=max(1, int(profile.input_resolution / factor)))
    assert rank_of("scratch", smaller) <= rank_of("scratch", profile)


SIMILARITY_ORDER = ("high", "medium", "unknown", "low")


@settings(max_examples=300, deadline=None)
@given(profiles)
def test_lower_similarity_never_ranks_linear_probe_higher(profile):
    position = SIMILARITY_ORDER.index(profile.domain_similarity)
    for lower in SIMILARITY_ORDER[position + 1 :]:
        assert rank_of("linear_probe", profile.replace(domain_similarity=lower)) >= rank_of("linear_probe", profile)


def test_rules_page_documents_every_rule_and_source():

    page = RULES_PAGE.read_text()
    for rule in RULES:
        assert f"`{rule.name}`" in page, rule.name
    for key in SOURCES:
        assert f"**{key}**" in page, key


def test_grid_cells_attach_to_the_rules_that_fired():
    from advisor.evidence import cells_by_rule, load_grid, outcome_counts

    grid = load_grid()
    assert grid is not None, "advisor/data/grid/grid_results.json must ship with the package"
    by_rule = cells_by_rule(grid)
    assert len(by_rule["pretraining_default"]) == len(grid["cells"])  # applies everywhere
    total = outcome_counts(grid["cells"])
    assert total == {k: grid["agreement"][k] for k in ("confirmed", "contradicted", "inconclusive", "not_decided")}
    assert sum(total.values()) == len(grid["cells"])  # every cell counted once, not decided apart from inconclusive


def test_a_tie_between_the_top_two_is_a_coin_toss():
    from advisor.scoring import RankedStrategy, Scores

    tie = Scores((RankedStrategy("linear_probe", "Linear probe", 1.0, True),
                  RankedStrategy("scratch", "Train from scratch", 1.0, True)), (), {})  # fmt: skip
    assert tie.confidence == 0.5


def test_every_grid_cell_records_the_rule_table_it_was_measured_under():
    """Held-out evidence counts only for the table it was measured under: the newest set must be today's."""
    from advisor.evidence import load_grid, rules_version
    from advisor.shipped import GRID_RESULTS

    tuning = load_grid()["cells"]
    assert all(len(cell["rules_version"]) == 12 for cell in tuning)  # its advice still matches: the test below
    held_out = load_grid(GRID_RESULTS.with_name("held_out_results.json"))["cells"]
    versions: dict[int, set[str]] = {}
    for cell in held_out:
        versions.setdefault(cell["set"], set()).add(cell["rules_version"])
    assert all(len(v) == 1 for v in versions.values()), versions  # a set is measured under one table
    assert versions[max(versions)] == {rules_version()}, (
        "the rules or the confidence formula changed after the newest held-out set: measure a new set "
        "(scripts/check_rules.py --held-out N)"
    )


def test_shipped_grid_matches_the_current_rules():
    """Every grid cell's advice is what the rules say today, so "what we measured" stays honest."""
    from advisor.evidence import load_grid

    for cell in load_grid()["cells"]:
        assert recommend(profile_from_mapping(cell["profile"])).strategy == cell["advised"], cell["dataset"]
