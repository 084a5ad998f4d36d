"""What one example is called where a person reads numbers: images and img/s, or texts and sentences/s.

Tables, verdicts, plans, reports and the app word counts and throughput in the data's own unit;
they ask here, by the dataset or by the modality a run stored, and never write "images" for text.

>>> unit_for_dataset("fortunes").rate, unit_for_dataset("digits").rate
('sentences/s', 'img/s')
>>> unit_of("text").plural, unit_of(None).plural
('texts', 'images')
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.vocabulary import Modality
from bench.data.text_catalog import is_text_dataset


@dataclass(frozen=True)
class ExampleUnit:
    modality: Modality
    plural: str  # "1,091 texts"
    rate: str  # a table column: "img/s", "sentences/s"
    rate_title: str  # a column that starts a label: "Images/s", "Sentences/s"
    files: str  # what a user's folder holds: "image files", "text files"


IMAGES = ExampleUnit(Modality.IMAGE, "images", "img/s", "Images/s", "image files")
TEXTS = ExampleUnit(Modality.TEXT, "texts", "sentences/s", "Sentences/s", "text files")
UNITS = {unit.modality: unit for unit in (IMAGES, TEXTS)}


def dataset_modality(name_or_path: str) -> Modality:
    """TEXT for a built-in text dataset or a path to text data, else IMAGE (cheap: names, not contents)."""
    return Modality.TEXT if is_text_dataset(name_or_path) else Modality.IMAGE


def unit_for_dataset(name_or_path: str) -> ExampleUnit:
    return UNITS[dataset_modality(name_or_path)]


def unit_of(modality: str | None) -> ExampleUnit:
    """The unit of a stored modality; a run stored before runs recorded it was of images."""
    return UNITS.get(Modality(modality), IMAGES) if modality in set(Modality) else IMAGES
