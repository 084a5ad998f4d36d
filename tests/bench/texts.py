"""Helpers that write small real text datasets for the tests."""

from __future__ import annotations

from pathlib import Path


def two_class_csv(folder: Path) -> str:
    """60 short texts in two topics (sport, cooking), each from its own words: a tiny few-shot set."""
    sport = ["team", "goal", "match", "coach", "league", "striker", "referee", "season", "stadium", "keeper"]
    food = ["oven", "flour", "sauce", "onion", "recipe", "butter", "garlic", "pasta", "simmer", "dough"]
    rows = [f"the {sport[i % 10]} and the {sport[(i * 3 + 1) % 10]} {i},sport" for i in range(30)]
    rows += [f"the {food[i % 10]} and the {food[(i * 3 + 1) % 10]} {i},cooking" for i in range(30)]
    path = folder / "topics.csv"
    path.write_text("text,label\n" + "\n".join(rows) + "\n")
    return str(path)
