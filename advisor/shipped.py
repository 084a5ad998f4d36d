"""Files that ship inside the package (wheel included): the rules page, the grid, example profiles.

They are found through the package, never through the repository's folder, so an installed
wheel run from any directory has them.

>>> sorted(example_profiles())[:2]
['digits_8px', 'edge_little_data']
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DATA = Path(str(resources.files("advisor") / "data"))
RULES_PAGE = DATA / "rules.md"
GRID_RESULTS = DATA / "grid" / "grid_results.json"
PROFILES = DATA / "profiles"


def example_profiles() -> dict[str, Path]:
    """Example questionnaire profiles by name (``small_similar``: ``.../profiles/small_similar.json``)."""
    return {path.stem: path for path in sorted(PROFILES.glob("*.json"))}
