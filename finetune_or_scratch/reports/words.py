"""Words for people: display names for strategies, arms and fields, numbers with units, run settings.

Pure functions of stored data, shared by the app and the reports, so a page and a downloaded
report call things by the same names. Internal names (``linear_probe``, ``budget_seconds``)
stay in the data; only what a person reads goes through here.

>>> arm_label("scratch_same_arch"), field_label("labeled_examples"), plain("expected <= 1e+10")
('Scratch, same architecture', 'Labeled examples', 'expected <= 10,000,000,000')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from advisor.profile import FIELD_SPECS
from advisor.rules import SIMILARITY_VALUE
from advisor.strategies import STRATEGY_BY_NAME
from advisor.vocabulary import Trainable
from bench.data.units import IMAGES, TEXTS, ExampleUnit, unit_for_dataset, unit_of
from bench.evidence.question import duration_words
from bench.train.arms import ARMS, arm_label
from bench.vocabulary import RunKind

# Run and trial settings as the validation form words them.
RUN_FIELDS = {
    "dataset": "Dataset",
    "kind": "Mode",
    "arms": "Arms",
    "arm": "Arms",
    "seeds": "Seeds",
    "seed": "Seeds",
    "examples": "Training examples",
    "budget_seconds": "Seconds of training per trial",
    "sizes": "Curve sizes",
    "backbone": "Pretrained backbone",
    "scratch_backbone": "Scratch model",
    "device": "Device",
    "resolution": "Input side (pretrained)",
    "scratch_resolution": "Input side (scratch)",
    "batch_size": "Batch size",
    "max_epochs": "Most epochs",
    "patience": "Patience",
    "label_smoothing": "Label smoothing",
    "image_size": "Decoded image side",
    "text_column": "Text column",
    "label_column": "Label column",
    "text_backbone": "Sentence encoder",
    "max_tokens": "Tokens read per text",
    "split_seed": "Split seed",
}
RECIPE_FIELDS = {
    "hyperparameters": "The numbers the benchmark trains with",
    "backbone": "Backbone",
    "freeze": "Frozen layers",
    "lr_body": "Learning rate (body)",
    "lr_head": "Learning rate (head)",
    "optimizer": "Optimiser",
    "schedule": "Schedule",
    "epochs": "Epochs",
    "batch_norm": "Batch norm",
    "regularisation": "Regularisation",
    "augmentation": "Augmentation",
    "early_stopping": "Early stopping",
    "measure": "What to measure",
}
STATUS_WORDS = {
    "queued": "queued",
    "running": "running",
    "completed": "finished",
    "cancelled": "cancelled",
    "failed": "failed",
    "interrupted": "interrupted",
}
_UPLOAD_NAME = re.compile(r"^[0-9a-f]{16}\.zip$")


def arms_text(names: Any) -> str:
    return ", ".join(arm_label(n) for n in names or ()) or "none"


def field_label(name: str) -> str:
    """A profile or run field as the questionnaire or the run form names it."""
    spec = FIELD_SPECS.get(name)
    if spec is not None and spec.label:
        return spec.label
    return RUN_FIELDS.get(name) or RECIPE_FIELDS.get(name) or name.replace("_", " ").capitalize()


def recipe_label(name: str) -> str:
    """A recipe setting's name (``lr_body`` -> "Learning rate (body)")."""
    return RECIPE_FIELDS.get(name) or field_label(name)


def recipe_numbers(numbers: Mapping[str, Any]) -> str:
    """A recipe's numbers as a person reads them: only those that apply to what it trains.

    >>> recipe_numbers({"optimizer": "lbfgs", "trainable": "head", "lr_head": 0.0, "top_fraction": 1 / 3})
    'logistic regression (L-BFGS) on frozen features'
    >>> recipe_numbers({"optimizer": "adamw", "trainable": "top", "lr_head": 0.005, "lr_body": 0.0005,
    ...                 "layer_decay": 1.0, "weight_decay": 0.01, "label_smoothing": 0.1,
    ...                 "warmup_fraction": 0.05, "top_fraction": 1 / 3})
    'AdamW; head 0.005, body 0.0005; top 33% of the blocks train; weight decay 0.01; label smoothing 0.1; warm-up 5%'
    """
    if numbers.get("trainable") == Trainable.HEAD:
        return "logistic regression (L-BFGS) on frozen features"
    parts = [str(numbers.get("optimizer", "")).replace("adamw", "AdamW")]
    rates = f"head {numbers['lr_head']:g}, body {numbers['lr_body']:g}"
    if numbers.get("layer_decay", 1.0) != 1.0:
        rates += f" (x{numbers['layer_decay']:g} per block down)"
    parts.append(rates)
    if numbers.get("trainable") == Trainable.TOP:
        parts.append(f"top {numbers['top_fraction']:.0%} of the blocks train")
    parts += [f"weight decay {numbers['weight_decay']:g}", f"label smoothing {numbers['label_smoothing']:g}"]
    if numbers.get("warmup_fraction"):
        parts.append(f"warm-up {numbers['warmup_fraction']:.0%}")
    return "; ".join(parts)


def recipe_rows(recipe: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A stored recipe as (setting, value) rows for a table: worded names, its numbers as text, no notes."""
    rows = []
    for name, value in recipe.items():
        if name in ("notes", "strategy"):
            continue
        rows.append((recipe_label(name), recipe_numbers(value) if name == "hyperparameters" else value))
    return rows


def answer_text(name: str, value: Any) -> str:
    """A profile answer with its unit: ``2,000 examples``, ``8 hours``, ``yes``."""
    spec = FIELD_SPECS.get(name)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        number = f"{value:,}" if isinstance(value, int) or float(value).is_integer() else f"{value:,.2f}"
        if isinstance(value, float) and float(value).is_integer():
            number = f"{int(value):,}"
        unit = spec.unit.removesuffix("s") if spec and spec.unit and value == 1 else (spec.unit if spec else "")
        return f"{number} {unit}".strip() if unit else number
    if isinstance(value, str):
        return value.replace("_", " ")
    return str(value)


def _expand_exponent(match: re.Match[str]) -> str:
    value = float(match.group(0))
    return f"{value:,.0f}" if value.is_integer() else match.group(0)


def plain(message: str, paths: Mapping[str, str] | None = None) -> str:
    """A message as a person should read it: ``1e+10`` spelt out, snake_case field names worded,
    and server paths (``/…/uploads/c0b4….zip``) replaced by the names a person gave them."""
    text = str(message)
    for path, name in (paths or {}).items():
        if path and name:
            text = text.replace(path, name)
    text = re.sub(r"\b\d+(?:\.\d+)?e\+\d+\b", _expand_exponent, text)
    text = _SNAKE.sub(lambda m: _snake_word(m.group(0), m.start() == 0), text)
    # "the advised linear_probe (linear_probe)" once worded reads "Linear probe (Linear probe)": say it once.
    return re.sub(r"\b([A-Z][\w ,-]*?) \(\1\)", r"\1", text, flags=re.IGNORECASE)


def _snake_word(name: str, first: bool) -> str:
    named = name in STRATEGY_BY_NAME or name in ARMS
    word = arm_label(name) if named else field_label(name)
    return word if first or named else word[0].lower() + word[1:]


_SNAKE = re.compile(
    r"\b("
    + "|".join(
        sorted({n for n in (*FIELD_SPECS, *RUN_FIELDS, *STRATEGY_BY_NAME, *ARMS) if "_" in n}, key=len, reverse=True)
    )
    + r")\b"
)


def dataset_name(config: Mapping[str, Any]) -> str:
    """The dataset a run used, as a person named it: the uploaded file's or folder's name, never a hashed path."""
    label = config.get("dataset_label")
    if label:
        return str(label)
    dataset = str((config.get("base") or {}).get("dataset", ""))
    name = Path(dataset).name or dataset
    return "an uploaded .zip" if _UPLOAD_NAME.match(name) else name or "unknown"


def hidden_paths(config: Mapping[str, Any]) -> dict[str, str]:
    """Server paths a person never typed -> the name they gave the data: an upload is stored as
    ``.../uploads/<hash>/name.zip`` (or a hashed name); a report shows the name only.

    >>> hidden_paths({"dataset_label": "leaves.zip", "base": {"dataset": "/srv/fos/uploads/0a1b/leaves.zip"}})
    {'/srv/fos/uploads/0a1b/leaves.zip': 'leaves.zip'}
    >>> hidden_paths({"base": {"dataset": "digits"}})
    {}
    """
    dataset = str((config.get("base") or {}).get("dataset", ""))
    if not dataset or Path(dataset).name == dataset:  # a built-in name, or a bare file name
        return {}
    if config.get("dataset_label") or _UPLOAD_NAME.match(Path(dataset).name):
        return {dataset: dataset_name(config)}
    return {}


def scrub(value: Any, paths: Mapping[str, str]) -> Any:
    """``value`` (plain data: dicts, lists, strings) with every path in ``paths`` replaced by its name."""
    if not paths:
        return value
    if isinstance(value, str):
        for path, name in paths.items():
            value = value.replace(path, name)
        return value
    if isinstance(value, Mapping):
        return {key: scrub(item, paths) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, paths) for item in value]
    return value


def seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return "until converged"
    return f"{seconds:g} s"


def duration_text(created: str | None, finished: str | None, now: str | None = None) -> str:
    """``1 min 05 s`` between two ISO times (``now`` for a run still going); empty when unknown."""
    end = finished or now
    if not created or not end:
        return ""
    try:
        seconds = int((datetime.fromisoformat(end) - datetime.fromisoformat(created)).total_seconds())
    except ValueError:
        return ""
    seconds = max(0, seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def run_settings(config: Mapping[str, Any], device: str | None = None) -> dict[str, str]:
    """What a run ran, in the run form's words (the run card's rows and a report's settings table)."""
    base = config.get("base") or {}
    seeds = list(config.get("seeds") or [])
    examples = base.get("examples")
    settings = {
        "Dataset": dataset_name(config),
        "Mode": "Learning curve" if config.get("kind") == RunKind.CURVE else "Quick run",
        "Arms": arms_text(config.get("arms")),
        "Seeds": f"{len(seeds)}" if seeds else "",
        "Seconds of training per trial": seconds_text(base["budget_seconds"]) if "budget_seconds" in base else "n/a",
        "Training examples": "n/a" if "examples" not in base else "all" if examples is None else f"{examples:,}",
    }
    if config.get("sizes"):
        settings["Curve sizes"] = ", ".join(f"{n:,}" for n in config["sizes"])
        del settings["Training examples"]
    if config.get("advised"):
        settings["Questionnaire's advice"] = arm_label(config["advised"])  # a planned check may judge the measured one
    if base.get("dataset") and unit_for_dataset(str(base["dataset"])) is TEXTS:
        settings["Sentence encoder"] = str(base.get("text_backbone", ""))
        settings["Tokens read per text"] = str(base.get("max_tokens", ""))
    settings["Device"] = device or str(base.get("device", "auto"))
    if config.get("measured"):  # the plan's speeds: the ones the form showed, not a second probe's
        settings["Arm speeds"] = "measured by the run form's plan, before Start"
    return settings


def status_text(status: str) -> str:
    return STATUS_WORDS.get(status, status)


def flat_settings(config: Mapping[str, Any]) -> dict[str, str]:
    """Every setting of a stored run request, worded, for a diff of two runs (nested ``base`` flattened)."""
    out = dict(run_settings(config))
    out.pop("Device", None)
    for key, value in (config.get("base") or {}).items():
        if key in ("dataset", "arm", "seed", "examples", "budget_seconds"):
            continue
        out[field_label(key)] = "default" if value is None else str(value)
    return out


def differences(left: Mapping[str, Any], right: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Rows (name, left, right) where two mappings differ; a missing key reads as a dash."""
    keys = list(dict.fromkeys([*left, *right]))
    return [(k, str(left.get(k, "—")), str(right.get(k, "—"))) for k in keys if left.get(k) != right.get(k)]


# Rules that scale with how similar the domain is, and the one that scales with how different it is.
_SIMILAR_RULES = ("similar_domain", "small_and_similar", "very_few_labels")
_DIFFERENT_RULES = ("small_and_different",)


def mixed_domain_note(answers: Mapping[str, Any], recommendation: Mapping[str, Any]) -> str | None:
    """One line for when rules for a similar and for a different domain both fire (a middling similarity)."""
    fired = {r.get("rule") for r in recommendation.get("reasons", [])}
    if not (fired & set(_SIMILAR_RULES) and fired & set(_DIFFERENT_RULES)):
        return None
    answer = str(answers.get("domain_similarity", ""))
    share = SIMILARITY_VALUE.get(answer)
    if share is None:
        return None
    return (
        f"Why both “similar domain” and “different domain” rules apply: a {answer} similarity counts as "
        f"{share:.0%} similar and {1 - share:.0%} different, so each rule fires at that share of its strength."
    )


def run_unit(config: Mapping[str, Any], dataset: Mapping[str, Any] | None = None) -> ExampleUnit:
    """What a stored run's examples are: the modality its dataset facts recorded, else its dataset's name."""
    if dataset and dataset.get("modality"):
        return unit_of(str(dataset["modality"]))
    name = (config.get("base") or {}).get("dataset") or config.get("dataset")
    return unit_for_dataset(str(name)) if name else IMAGES


def unit_of_rate(cost: Mapping[str, Any]) -> ExampleUnit:
    """The unit a stored cost row's throughput reads in (rows stored before text were of images)."""
    return TEXTS if cost.get("rate_unit") == TEXTS.rate else IMAGES


def cost_rows(costs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cost at full scale, one row per strategy (a planned check's ``check_plan.costs``)."""
    rows = []
    for c in costs:
        row = {
            "Strategy": arm_label(c["arm"]),
            f"{unit_of_rate(c).rate_title} here": f"{c['images_per_second']:,.0f}",
            f"To converge on {c['labeled_examples']:,} labels here": duration_words(c.get("converge_seconds_here")),
            "Epochs your budget buys": "n/a" if c.get("epochs_in_budget") is None else f"{c['epochs_in_budget']:.1f}",
        }
        if c.get("scaled"):
            row[f"On {c['profile_compute']} (scaled, not measured)"] = duration_words(c.get("converge_seconds_theirs"))
        rows.append(row)
    return rows
