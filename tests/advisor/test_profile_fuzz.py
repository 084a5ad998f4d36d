"""Profile fuzzer: any mapping of answers gives a recommendation or a ProfileError naming what is wrong.

Values are drawn from the validation table's own ranges (inside, at and beyond each end),
plus values of the wrong type; the attack pass found accepted profiles that crashed the rules.
"""

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.profile import ABSURD, FIELD_SPECS, PROFILE_FIELDS, ProfileError, profile_from_mapping, read_profile_json
from advisor.recommend import recommend

WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.floats(allow_nan=True, allow_infinity=True),
)


def field_values(spec):
    """Values around ``spec``'s accepted range, and values of other types."""
    if spec.choices:
        right = st.sampled_from(spec.choices)
    elif spec.kind is bool:
        right = st.booleans()
    else:
        low = spec.minimum if spec.minimum is not None else -ABSURD
        edges = [low, math.nextafter(low, -math.inf), math.nextafter(low, math.inf), ABSURD, ABSURD + 1, 0, -1]
        if spec.kind is int:
            right = st.one_of(st.integers(int(low) - 2, int(low) + 1000), st.integers(0, 10 * ABSURD))
        else:
            right = st.floats(min_value=low / 10 if low else 0, max_value=10 * ABSURD, allow_nan=False)
        right = st.one_of(right, st.sampled_from(edges), st.floats(5e-324, 1e-3))
    return st.one_of(right, right, right, WRONG_TYPES)  # mostly plausible values


PROFILES = st.fixed_dictionaries(
    {spec.name: field_values(spec) for spec in PROFILE_FIELDS if spec.required},
    optional={spec.name: field_values(spec) for spec in PROFILE_FIELDS if not spec.required}
    | {"not_a_field": st.integers()},
)


def accepted_values(spec):
    """Only values inside ``spec``'s range (log-uniform for numbers, so every decade is tried)."""
    if spec.choices:
        return st.sampled_from(spec.choices)
    if spec.kind is bool:
        return st.booleans()
    low = max(spec.minimum, 1e-300) if spec.kind is float else spec.minimum
    exponents = st.floats(math.log10(max(low, 1)) if spec.kind is int else math.log10(low), math.log10(ABSURD))
    if spec.kind is int:
        return st.one_of(st.sampled_from([int(spec.minimum), ABSURD]), exponents.map(lambda e: int(10**e)))
    return st.one_of(st.sampled_from([spec.minimum, float(ABSURD)]), exponents.map(lambda e: min(10**e, ABSURD)))


def _consistent(answers):
    return {**answers, "labeled_examples": max(answers["labeled_examples"], answers["num_classes"])}


ACCEPTED = st.fixed_dictionaries(
    {spec.name: accepted_values(spec) for spec in PROFILE_FIELDS if spec.required},
    optional={spec.name: accepted_values(spec) for spec in PROFILE_FIELDS if not spec.required},
).map(_consistent)


# recommend() runs the counterfactual search (hundreds of scorings): 25 profiles keep this brief.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ACCEPTED)
def test_every_profile_the_table_accepts_is_scored(answers):
    recommendation = recommend(profile_from_mapping(answers))  # must not raise: these are all in range
    assert recommendation.strategy == recommendation.ranking[0].strategy
    assert all(math.isfinite(ranked.score) for ranked in recommendation.ranking)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PROFILES)
def test_any_answers_give_advice_or_a_clean_error(answers):
    try:
        profile = profile_from_mapping(answers)
    except ProfileError as error:
        assert error.field is None or error.field in FIELD_SPECS or error.field == "not_a_field"
        assert len(str(error)) < 400
        return
    recommendation = recommend(profile)
    assert recommendation.strategy == recommendation.ranking[0].strategy
    assert all(math.isfinite(ranked.score) for ranked in recommendation.ranking)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda raw: raw.decode("latin-1")))
def test_any_file_text_is_read_or_refused_in_words(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "profile.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        data = read_profile_json(path)
    except ProfileError as error:
        assert str(path) in str(error)
        return
    assert isinstance(data, dict) and json.loads(text) == data
