import json

import pytest

from advisor.profile import (
    PROFILE_FIELDS,
    Profile,
    ProfileError,
    example_profile,
    load_profile,
    profile_from_mapping,
)

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
        ({"time_budget_hours": 0}, "time_budget_hours: expected a number > 0 and <= 1e+10; got 0"),
        ({"time_budget_hours": float("nan")}, "time_budget_hours: expected a number > 0 and <= 1e+10; got nan"),
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
    assert profile.replace(labeled_examples=9).labeled_examples == 9
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
