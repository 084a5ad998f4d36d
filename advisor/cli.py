"""``python -m advisor``: the advisor's command line.

Every profile field has a flag; flags override the values read from ``--profile``. Bad
input prints one message naming the field and exits with status 2, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from advisor.clitools import fail, make_app
from advisor.profile import PROFILE_FIELDS, ProfileError, profile_from_mapping, read_profile_json
from advisor.recommend import recommend
from advisor.text import render_text

app = make_app("Fine-tune or scratch? Evidence-based advice for a new learning task.")


def _opt(spec_name: str) -> Any:
    spec = next(s for s in PROFILE_FIELDS if s.name == spec_name)
    return typer.Option(help=f"{spec.help} Accepts {spec.accepted()}.", show_default=False)


@app.command("recommend")
def recommend_command(
    profile: Annotated[Path | None, typer.Option(help="Profile JSON file (examples: advisor/data/profiles/).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
    modality: Annotated[str | None, _opt("modality")] = None,
    labeled_examples: Annotated[int | None, _opt("labeled_examples")] = None,
    num_classes: Annotated[int | None, _opt("num_classes")] = None,
    input_resolution: Annotated[int | None, _opt("input_resolution")] = None,
    domain_similarity: Annotated[str | None, _opt("domain_similarity")] = None,
    pretrained_available: Annotated[bool | None, _opt("pretrained_available")] = None,
    unlabeled_examples: Annotated[int | None, _opt("unlabeled_examples")] = None,
    time_budget_hours: Annotated[float | None, _opt("time_budget_hours")] = None,
    compute: Annotated[str | None, _opt("compute")] = None,
    custom_architecture: Annotated[bool | None, _opt("custom_architecture")] = None,
    edge_deployment: Annotated[bool | None, _opt("edge_deployment")] = None,
    interpretability: Annotated[bool | None, _opt("interpretability")] = None,
) -> None:
    """Rank the five strategies for a profile, with reasons, counterfactuals and a recipe."""
    flags = {
        "modality": modality,
        "labeled_examples": labeled_examples,
        "num_classes": num_classes,
        "input_resolution": input_resolution,
        "domain_similarity": domain_similarity,
        "pretrained_available": pretrained_available,
        "unlabeled_examples": unlabeled_examples,
        "time_budget_hours": time_budget_hours,
        "compute": compute,
        "custom_architecture": custom_architecture,
        "edge_deployment": edge_deployment,
        "interpretability": interpretability,
    }
    try:
        answers: dict[str, Any] = read_profile_json(profile) if profile else {}
        answers.update({name: value for name, value in flags.items() if value is not None})
        rec = recommend(profile_from_mapping(answers))
    except ProfileError as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps(rec.to_dict(), indent=2))
    else:
        typer.echo(render_text(rec))


@app.command("fields")
def fields_command() -> None:
    """List the profile fields, what each accepts, and an example."""
    for spec in PROFILE_FIELDS:
        required = "required" if spec.required else f"optional, default {json.dumps(spec.default)}"
        typer.echo(f"{spec.name:<22} {spec.accepted()} ({required}); e.g. {json.dumps(spec.example)}")
        typer.echo(f"{'':<22} {spec.help}")


def main() -> None:
    app(prog_name="python -m advisor")
