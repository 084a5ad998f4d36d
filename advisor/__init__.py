"""Fine-tune or scratch? Evidence-based advice from a questionnaire profile.

>>> from advisor import example_profile, recommend
>>> str(recommend(example_profile()).strategy)
'partial_finetune'
"""

from advisor.profile import PROFILE_FIELDS, Profile, ProfileError, example_profile, load_profile, profile_from_mapping
from advisor.recommend import Recommendation, recommend
from advisor.strategies import STRATEGIES, STRATEGY_NAMES

__all__ = [
    "PROFILE_FIELDS",
    "STRATEGIES",
    "STRATEGY_NAMES",
    "Profile",
    "ProfileError",
    "Recommendation",
    "example_profile",
    "load_profile",
    "profile_from_mapping",
    "recommend",
]
