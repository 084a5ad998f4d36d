import json
import math
import os
import pickle
import re
from pathlib import Path

import pytest

from advisor.constraints import FieldError
from advisor.profile import (
    ABSURD,
    PROFILE_FIELDS,
    Profile,
    ProfileError,
    check_answers,
    example_profile,
    load_profile,
    profile_from_mapping,
    read_profile_json,
)
from advisor.recommend import recommend

VALID = example_profile().to_dict()


def with_(**changes):
    return {**VALID, **changes}


def test_example_profile_round_trips_through_json():
    assert profile_from_mapping(json.loads(json.dumps(VALID))) == example_profile()


def test_optional_fields_take_their_defaults():
    required = {spec.name: VALID[spec.name] for spec in PROFILE_FIELDS if spec.required}
    profile = profile_from_mapping(required)
    assert profile.unlabeled_examples == 0
    assert profile.edge_deployment is False
    assert profile.input_resolution == 224  # ImageNet size: the published results' assumption


def test_integral_floats_are_accepted_for_counts():
    assert profile_from_mapping(with_(labeled_examples=1e5)).labeled_examples == 100_000


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"labeled_examples": 0}, "labeled_examples: expected an integer >= 1 and <= 1e+10; got 0"),
        ({"input_resolution": 0}, "input_resolution: expected an integer >= 1 and <= 1e+10; got 0"),
        (
            {"input_resolution": 27.5},
            "input_resolution: expected an integer >= 1 and <= 1e+10; got 27.5 (not a whole number)",
        ),
        ({"labeled_examples": -5}, "labeled_examples: expected an integer >= 1 and <= 1e+10; got -5"),
        ({"labeled_examples": 2.5}, "labeled_examples: expected an integer >= 1 and <= 1e+10; got 2.5 (not a whole"),
        ({"labeled_examples": 10**11}, "got 100000000000 (implausibly large)"),
        ({"labeled_examples": "500"}, 'labeled_examples: expected an integer >= 1 and <= 1e+10; got "500"'),
        ({"labeled_examples": True}, "labeled_examples: expected an integer >= 1 and <= 1e+10; got true"),
        ({"num_classes": 1}, "num_classes: expected an integer >= 2 and <= 1e+10; got 1"),
        ({"time_budget_hours": 0}, "time_budget_hours: expected a number >= 0.001 and <= 1e+10; got 0"),
        ({"time_budget_hours": 5e-324}, "time_budget_hours: expected a number >= 0.001 and <= 1e+10; got 5e-324"),
        ({"time_budget_hours": float("nan")}, "time_budget_hours: expected a number >= 0.001 and <= 1e+10; got nan"),
        ({"time_budget_hours": float("inf")}, "got inf (not a finite number)"),
        ({"unlabeled_examples": -1}, "unlabeled_examples: expected an integer >= 0 and <= 1e+10; got -1"),
        ({"modality": "video"}, 'modality: expected one of image, text, tabular, audio, other; got "video"'),
        ({"domain_similarity": "High"}, "domain_similarity: expected one of high, medium, low, unknown; got"),
        ({"compute": 3}, "compute: expected one of cpu, single_gpu, multi_gpu, cluster; got 3"),
        ({"pretrained_available": "yes"}, 'pretrained_available: expected true or false; got "yes"'),
        ({"edge_deployment": 1}, "edge_deployment: expected true or false; got 1"),
        ({"labeled_exmaples": 5}, "labeled_exmaples: unknown field; accepted fields are modality, labeled_examples"),
    ],
)
def test_bad_values_name_the_field_what_is_accepted_and_what_was_given(changes, expected):
    with pytest.raises(ProfileError) as caught:
        profile_from_mapping(with_(**changes))
    assert expected in str(caught.value)


def test_missing_required_field_is_named():
    data = dict(VALID)
    del data["compute"]
    with pytest.raises(ProfileError, match="compute: missing required field; expected one of cpu"):
        profile_from_mapping(data)


def test_non_object_is_rejected():
    with pytest.raises(ProfileError, match="must be a JSON object of fields; got list"):
        profile_from_mapping([1, 2])


def test_direct_construction_validates_too():
    with pytest.raises(ProfileError, match="num_classes"):
        Profile(**with_(num_classes=0))


def test_replace_returns_a_validated_copy():
    profile = example_profile()
    assert profile.replace(labeled_examples=90).labeled_examples == 90
    with pytest.raises(ProfileError):
        profile.replace(labeled_examples=0)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", r"is not valid JSON \(line 1, column 2"),
        ("[1, 2]", "must hold a JSON object of fields; got list"),
        ("", "is not valid JSON"),
    ],
)
def test_bad_files_are_reported(tmp_path, content, expected):
    path = tmp_path / "p.json"
    path.write_text(content)
    with pytest.raises(ProfileError, match=expected):
        load_profile(path)


def test_unreadable_file_is_reported(tmp_path):
    with pytest.raises(ProfileError, match="cannot read profile file"):
        load_profile(tmp_path / "missing.json")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ProfileError, match="cannot read profile file"):
        load_profile(binary)


# --- Every accepted profile is scorable -------------------------------------------------------


def _extremes(spec):
    if spec.choices:
        return list(spec.choices)
    if spec.kind is bool:
        return [False, True]
    low = spec.minimum if spec.minimum_inclusive else math.nextafter(spec.minimum, math.inf)
    return [spec.kind(low), spec.kind(ABSURD)]


@pytest.mark.parametrize("spec", PROFILE_FIELDS, ids=lambda spec: spec.name)
def test_recommend_returns_at_the_extremes_of_every_field(spec):
    # Each end of each field's accepted range, against a small and a huge rest of the profile.
    small = with_(labeled_examples=2, num_classes=2, time_budget_hours=0.001, compute="cpu", input_resolution=1)
    large = with_(labeled_examples=ABSURD, num_classes=2, time_budget_hours=ABSURD, compute="cluster")
    for base in (small, large):
        for value in _extremes(spec):
            answers = {**base, spec.name: value}
            if spec.name == "num_classes":
                answers["labeled_examples"] = max(value, answers["labeled_examples"])
            if spec.name == "labeled_examples":  # 1 is in the field's range, but not with >= 2 classes
                answers["labeled_examples"] = max(value, 2)
            profile = profile_from_mapping(answers)
            rec = recommend(profile)
            assert rec.ranking and all(math.isfinite(r.score) for r in rec.ranking)


def test_labeled_examples_must_cover_every_class():
    with pytest.raises(ProfileError, match=r"labeled_examples: expected at least one labeled example per class: "
                       r">= num_classes \(10\); got 9") as caught:  # fmt: skip
        profile_from_mapping(with_(labeled_examples=9, num_classes=10))
    assert caught.value.field == "labeled_examples"
    assert profile_from_mapping(with_(labeled_examples=10, num_classes=10)).labeled_examples == 10
    profile, errors = check_answers(with_(labeled_examples=3, num_classes=4))
    assert profile is None and list(errors) == ["labeled_examples"] and "per class" in errors["labeled_examples"]


def test_field_errors_are_field_errors_that_front_ends_can_word():
    with pytest.raises(FieldError) as caught:
        profile_from_mapping(with_(num_classes=1))
    error = caught.value
    assert isinstance(error, ProfileError) and error.field == "num_classes"
    assert error.worded({"num_classes": "--num-classes"}).startswith("--num-classes: expected an integer >= 2")
    assert str(pickle.loads(pickle.dumps(error))) == str(error)
    whole = ProfileError(None, "a profile must be a JSON object")
    assert not isinstance(whole, FieldError) and str(whole) == "a profile must be a JSON object"


def test_a_huge_bad_value_is_echoed_as_a_bounded_excerpt():
    with pytest.raises(ProfileError) as caught:
        profile_from_mapping(with_(compute="x" * 1_000_000))
    assert len(str(caught.value)) < 300 and "1,000,002 characters" in str(caught.value)
    with pytest.raises(ProfileError) as caught:
        profile_from_mapping({**VALID, "k" * 1_000_000: 1})
    assert len(str(caught.value)) < 600 and "unknown field" in str(caught.value)


# --- Reading profile files with limits --------------------------------------------------------


def _json_with(field: str, raw: str) -> str:
    """The valid profile as JSON text, with ``field``'s value written as ``raw``."""
    rest = json.dumps({name: value for name, value in VALID.items() if name != field})
    return f'{rest[:-1]}, "{field}": {raw}}}'


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"compute": "cpu", "compute": "cluster"}', r'field "compute" is given twice'),
        ("[" * 1000 + "]" * 1000, "nests 1000 levels deep"),
        ('{"labeled_examples": ' + "9" * 5000 + "}", "a number of 5,000 digits"),
        (
            _json_with("labeled_examples", "1" + "0" * 30),
            r"labeled_examples: expected an integer .* \(implausibly large\)",
        ),
        (_json_with("time_budget_hours", "1e999"), "not a finite number"),
        (_json_with("time_budget_hours", "NaN"), "time_budget_hours: expected a number >= 0.001"),
    ],
)
def test_hostile_json_is_refused_in_words(tmp_path, content, expected):
    path = tmp_path / "p.json"
    path.write_text(content)
    with pytest.raises(ProfileError, match=expected):
        load_profile(path)


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({**VALID, "modality": "[" * 100}))
    with pytest.raises(ProfileError, match="modality: expected one of"):
        load_profile(path)


def test_oversized_file_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "big.json"
    with open(path, "wb") as handle:
        handle.truncate(4 << 30)  # a 4 GiB sparse file
    with pytest.raises(ProfileError, match="is larger than 1,024 KiB"):
        load_profile(path)


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_non_regular_files_are_refused_without_blocking(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)  # nobody writes: a blocking open would wait forever
        expected = "not a regular file"
    elif kind == "device":
        path, expected = Path("/dev/zero"), "not a regular file"
    else:
        path, expected = tmp_path, "a folder"
    with pytest.raises(ProfileError, match=f"cannot read profile file {re.escape(str(path))}: {expected}"):
        read_profile_json(path)
