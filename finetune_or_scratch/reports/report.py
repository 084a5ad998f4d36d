"""Reports: a pure function of profile, recommendation, results, verdict and environment.

``build_report`` gathers plain data; ``render_markdown``, ``render_html`` and ``render_json``
turn it into text. The HTML is self-contained: inline CSS and charts embedded as inline
SVG (rendered offline by vl-convert), with no external URL, so it opens anywhere offline.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.data.units import IMAGES, ExampleUnit
from bench.evidence.question import duration_words, projection_words, question_words
from bench.evidence.stats import REPLICATES, p_words
from bench.vocabulary import CheckRegime, RunKind
from finetune_or_scratch.reports.charts import accuracy_chart, curve_chart, factor_chart, to_svg, trained_words
from finetune_or_scratch.reports.words import (
    answer_text,
    arm_label,
    duration_text,
    field_label,
    hidden_paths,
    mixed_domain_note,
    plain,
    recipe_rows,
    run_settings,
    run_unit,
    scrub,
    status_text,
    unit_of_rate,
)

FORMATS = ("md", "html", "json")


@dataclass(frozen=True)
class Report:
    title: str
    created: str
    profile: dict[str, Any]
    recommendation: dict[str, Any]
    run: dict[str, Any] | None = None  # id, kind, status, config, created, finished
    summary: list[dict[str, Any]] = field(default_factory=list)  # per arm: mean and spread over seeds
    trials: list[dict[str, Any]] = field(default_factory=list)
    verdict: dict[str, Any] | None = None
    curve: dict[str, Any] | None = None
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> Vega-Lite spec
    environment: dict[str, Any] = field(default_factory=dict)
    # The run's data: files held and used, every file skipped or ignored with why, how intensities were scaled.
    dataset: dict[str, Any] = field(default_factory=dict)
    check_plan: dict[str, Any] | None = None  # a planned check: the plan before training and the cost at full scale
    # A planned check's advice from its measured costs (bench.runs.execute.measured_advice): what changed, in words.
    measured_advice: dict[str, Any] | None = None


def build_report(
    profile: dict[str, Any],
    recommendation: dict[str, Any],
    run: dict[str, Any] | None = None,
    trials: list[dict[str, Any]] | None = None,
    verdict: dict[str, Any] | None = None,
    analyses: dict[str, Any] | None = None,
    created: str | None = None,
) -> Report:
    """Assemble everything a report shows. No I/O, no clocks unless ``created`` is omitted."""
    trials = trials or []
    analyses = analyses or {}
    # An upload's stored path is the server's, not the person's: every part of the report names the data only.
    paths = hidden_paths((run or {}).get("config") or {})
    run, trials, verdict, analyses = (scrub(part, paths) for part in (run, trials, verdict, analyses))
    first = next((t for t in trials if t.get("versions")), {})
    environment = {
        "device": first.get("device", "not measured"),
        "versions": first.get("versions", {}),
        "dataset_fingerprint": first.get("dataset_fingerprint", ""),
        "seeds": sorted({t["config"]["seed"] for t in trials}),
    }
    charts = {}
    if analyses.get("curve"):
        charts["learning_curve"] = curve_chart(analyses["curve"]).to_dict()
    return Report(
        title=f"Fine-tune or scratch: {arm_label(recommendation['strategy'])}",
        created=created or datetime.now(UTC).isoformat(timespec="seconds"),
        profile=profile,
        recommendation=recommendation,
        run=run,
        summary=list(analyses.get("summary", [])),
        trials=trials,
        verdict=verdict,
        curve=analyses.get("curve"),
        charts=charts,
        environment=environment,
        dataset=dict(analyses.get("dataset") or {}),
        check_plan=analyses.get("check_plan"),
        measured_advice=analyses.get("measured_advice"),
    )


def render_json(report: Report) -> str:
    return json.dumps(asdict(report), indent=2)


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render_markdown(report: Report) -> str:
    rec = report.recommendation
    lines = [f"# {report.title}", "", f"Created {report.created}.", "", "## Inputs", ""]
    lines += _table(["question", "answer"], [[field_label(k), answer_text(k, v)] for k, v in report.profile.items()])
    lines += [
        "",
        "## Recommendation",
        "",
        f"**{arm_label(rec['strategy'])}**, confidence {rec['confidence']:.0%} (the chance it measures best).",
        "",
    ]
    if report.measured_advice:  # the recommendation stored after the check: its budget factors used measured costs
        lines += [plain(report.measured_advice.get("text") or "With the throughput measured here instead of the "
                        "fixed CPU-to-GPU factor, the advice is the same."), ""]  # fmt: skip
    ranking = rec["ranking"]
    notes = any(r.get("note") for r in ranking)
    lines += _table(
        ["rank", "strategy", "score", *(["note"] if notes else [])],
        [
            [
                i,
                r.get("label") or arm_label(r["strategy"]),
                f"{r['score']:+.2f}",
                *([r.get("note", "")] if notes else []),
            ]
            for i, r in enumerate(ranking, 1)
        ],
    )
    mixed = mixed_domain_note(report.profile, rec)
    lines += ["", "### Factor contributions (points)", ""]
    lines += _table(
        ["factor", "strategy", "points"],
        [[f["title"], arm_label(f["strategy"]), f"{f['points']:+.2f}"] for f in rec["factors"]],
    )
    lines += ["", "### Why", ""]
    lines += [f"- **{r['title']}**: {r['text']} _Source: {r['source']}._" for r in rec["reasons"]]
    if mixed:
        lines += ["", mixed]
    lines += ["", "### What would change the answer", ""]
    lines += [f"- {plain(c['text'])}" for c in rec["counterfactuals"]] or ["- nothing nearby"]
    lines += _nearest_markdown(rec)
    recipe = dict(rec["recipe"])
    recipe_notes = recipe.get("notes") or []
    lines += ["", f"### Recipe: {arm_label(recipe.get('strategy', rec['strategy']))}", ""]
    lines += _table(["setting", "value"], [[name, _cell(value)] for name, value in recipe_rows(recipe)])
    if recipe_notes:
        lines += ["", *[f"- {plain(n)}" for n in ([recipe_notes] if isinstance(recipe_notes, str) else recipe_notes)]]
    lines += _measured_markdown(report)
    return "\n".join(lines) + "\n"


def _nearest_markdown(rec: dict[str, Any]) -> list[str]:
    """The published cases closest to the profile, with outcome and source (recommendations stored before
    the published table existed have none: said so)."""
    cases = rec.get("nearest_cases")
    lines = ["", "### Nearest published cases", ""]
    if not cases:
        return [*lines, "- none stored with this recommendation"]
    for case in cases:
        checked = "" if case.get("checked") else " (numbers from memory, not checked in the source)"
        lines.append(
            f"- **{case['task']}** (`{case['id']}`, distance {case['distance']:.2f}; {case['setting']}): "
            f"{case['outcome']}{checked}. _Source: {case['study']}, {case['where']}, {case['source']}._"
        )
    if rec.get("nearest_note"):
        lines += ["", rec["nearest_note"]]
    return lines


def _cell(value: Any) -> str:
    """A table cell: lists joined with semicolons, never printed as Python."""
    if isinstance(value, list | tuple):
        return "; ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{field_label(k)}: {_cell(v)}" for k, v in value.items())
    return _fmt(value)


def _measured_markdown(report: Report) -> list[str]:
    lines = ["", "## Measured results", ""]
    run = report.run or {}
    config = run.get("config") or {}
    if run:
        device = report.environment.get("device")
        settings = run_settings(config, device if device and device != "not measured" else None)
        settings["Status"] = status_text(str(run.get("status", "")))
        settings["Duration"] = duration_text(run.get("created"), run.get("finished")) or "n/a"
        lines += [*_table(["setting", "value"], [[k, v] for k, v in settings.items()]), ""]
    unit = run_unit(config, report.dataset)
    lines += _data_markdown(report.dataset, unit)
    if not report.trials:
        return [*lines, "No validation run yet." if not run else "No trial finished."]
    # A planned check's small curve is not averaged into its summary: that is at the check's own size.
    curve_run = config.get("kind") == RunKind.CURVE or (bool(report.curve) and not report.check_plan)
    lines += [
        "Accuracy per arm, averaged over every training size and seed (the learning curve below has each size):"
        if curve_run
        else "Accuracy per arm, mean ± standard deviation over seeds:",
        "",
    ]
    encoded = any(s.get("features_seconds_mean") for s in report.summary)  # the frozen encoder's pass, apart
    lines += _table(
        ["arm", "finished trials", "test accuracy", "macro-F1", "training s", *["encoding s"] * encoded, unit.rate],
        [
            [
                arm_label(s["arm"]),
                s.get("trials", "n/a"),
                _fmt(s.get("accuracy_mean"))
                + (f" ± {_fmt(s['accuracy_std'])}" if s.get("accuracy_std") is not None else ""),
                _fmt(s.get("macro_f1_mean")),
                _fmt(s.get("train_seconds_mean"), 1),
                *[_fmt(s.get("features_seconds_mean") or 0.0, 1)] * encoded,
                _fmt(s.get("images_per_second_mean"), 0),
            ]
            for s in report.summary
        ],
    )
    for s in report.summary:  # text scratch arms: the TF-IDF baseline fitted beside them
        if s.get("baseline_accuracy_mean") is not None:
            lines += ["", f"Beside {arm_label(s['arm'])}, the classical baseline on the same training {unit.plural}: "
                          f"{s.get('baseline') or 'a baseline'}, test accuracy {_fmt(s['baseline_accuracy_mean'])}."]  # fmt: skip
    if report.curve:
        lines += ["", "### Learning curve: mean test accuracy over seeds at each training size", ""]
        lines += _table(
            ["arm", "training examples", "mean accuracy", "95% interval over seeds", "seeds", "trained"],
            [
                [
                    arm_label(p["arm"]),
                    p["examples"],
                    _fmt(p.get("mean")),
                    _interval(p.get("ci95")),
                    p.get("seeds", ""),
                    trained_words(p),
                ]
                for p in report.curve.get("points", [])
            ],
        )
        crossover = (report.curve.get("crossover") or {}).get("text")
        if crossover:
            lines += ["", f"**Crossover:** {plain(crossover)}"]
        lines += [f"- note: {plain(n)}" for n in report.curve.get("notes", [])]
    lines += _verdict_markdown(report.verdict)
    lines += _check_plan_markdown(report.check_plan)
    env = report.environment
    lines += [
        "",
        "## Reproduce",
        "",
        f"- dataset fingerprint: `{env.get('dataset_fingerprint', '')}`",
        f"- device: {env.get('device', 'not measured')}",
    ]
    lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in env.get("versions", {}).items()))
    seeds = env.get("seeds", [])
    lines.append(f"- seeds: {len(seeds)} (seed{'s' if len(seeds) != 1 else ''} {', '.join(str(s) for s in seeds)})")
    if run:
        lines += [
            f"- run {run.get('id')}: {status_text(str(run.get('status')))}, {run.get('created')} to {run.get('finished')}"
        ]
        lines += ["", "```json", json.dumps(config, indent=2), "```"]
    return lines


SHOWN_FILES = 100  # per list in Markdown and HTML; the JSON report has every one


def _data_markdown(dataset: dict[str, Any], unit: ExampleUnit = IMAGES) -> list[str]:
    """The data section: how many files were used, and every skipped or ignored file with why."""
    if not dataset:
        return []
    lines = ["### Data", ""]
    total, used = dataset.get("files_total"), dataset.get("files_used")
    name = dataset.get("name", "")
    if total:
        lines.append(f"{name}: {used:,} of {total:,} {unit.files} read, {dataset.get('images', used):,} used.")
    else:
        lines.append(f"{name}: {dataset.get('images', 0):,} {unit.plural}.")
    if dataset.get("intensity"):
        lines += ["", f"Intensities: {dataset['intensity']}."]
    for kind, words in (("skipped", "unreadable, skipped"), ("ignored", f"not {unit.plural}, ignored")):
        entries = [str(e) for e in dataset.get(kind) or []]
        if not entries:
            continue
        lines += ["", f"{len(entries):,} files {words}:", ""]
        lines += [f"- `{_code(e)}`" for e in entries[:SHOWN_FILES]]
        if len(entries) > SHOWN_FILES:
            lines.append(f"- … and {len(entries) - SHOWN_FILES:,} more (every one is in the JSON report)")
    return [*lines, ""]


def _code(text: str) -> str:
    # Inside a code span: no backtick may end it early, and a newline would end the list item.
    return text.replace("`", "'").replace("\n", " ").replace("\r", " ")[:300]


def _verdict_markdown(verdict: dict[str, Any] | None) -> list[str]:
    """The verdict from whatever keys it has (its content may grow); nothing is assumed present."""
    if not verdict:
        return []
    outcome = str(verdict.get("outcome", "")).replace("_", " ").upper()
    head = f"**{outcome}**: " if outcome else ""
    parts = [plain(str(verdict[k])) for k in ("summary", "reason") if verdict.get(k)]
    if parts and outcome and parts[0].lower().startswith(outcome.lower() + ":"):  # "not decided: not decided: …"
        parts[0] = parts[0][len(outcome) + 1 :]
    text = ". ".join(_sentence(p) for p in parts)
    question = verdict.get("question")
    lines = ["", "## Verdict", ""]
    names = {"check_minutes": "a check bound (--check-minutes) of"}
    if question:
        lines += [f"*{plain(question_words(question, names))}*", ""]
        if question.get("regime") != CheckRegime.YOUR_BUDGET and head:
            head = f"**{outcome} for this check, not your question**: "
    lines.append(f"{head}{text}.")
    c = verdict.get("comparison")
    if isinstance(c, dict):
        lines.append("")
        lines.append(comparison_sentence(c) + ".")
    if isinstance(verdict.get("projection"), dict):
        lines += ["", plain(projection_words(verdict["projection"], names))]
    if verdict.get("not_computed"):
        missing = verdict["not_computed"]
        lines.append("")
        lines.append(
            "Not computed: "
            + "; ".join(plain(str(m)) for m in ([missing] if isinstance(missing, str) else missing))
            + "."
        )
    return lines


def _check_plan_markdown(plan: dict[str, Any] | None) -> list[str]:
    """The plan the check made before training, and the cost at full scale per strategy."""
    if not plan:
        return []
    lines = ["", "### The plan, before training", ""]
    lines += [f"- {plain(line.strip())}" for line in plan.get("lines", [])]
    costs = plan.get("costs") or []
    if costs:
        first = costs[0]
        unit = unit_of_rate(first)
        scaled = bool(first.get("scaled"))
        lines += [
            "",
            f"### Cost at full scale: {first['labeled_examples']:,} labels",
            "",
            f"From the throughput measured on this machine ({first['device_compute']}); a projection "
            f"(epoch cap x labels / {unit.plural} per second), not a full run"
            + (f"; times on {first['profile_compute']} are scaled by a fixed factor, not measured." if scaled else "."),
            "",
        ]
        headers = ["strategy", f"{unit.rate} here", "to converge here", "epochs your budget buys"]
        headers += [f"on {first['profile_compute']} (scaled)"] if scaled else []
        rows = []
        for c in costs:
            row = [
                arm_label(c["arm"]),
                _fmt(c.get("images_per_second"), 0),
                duration_words(c.get("converge_seconds_here")),
                _fmt(c.get("epochs_in_budget"), 1),
            ]
            rows.append(row + ([duration_words(c.get("converge_seconds_theirs"))] if scaled else []))
        lines += _table(headers, rows)
    return lines


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:]


def comparison_sentence(c: dict[str, Any]) -> str:
    """A paired comparison in one sentence: who beat whom, by how much, how sure, over what, by which method,
    and how small a difference it could detect (or that its test set is too small to decide anything)."""
    better, worse = arm_label(str(c.get("better", "?"))), arm_label(str(c.get("worse", "?")))
    parts = []
    if c.get("mean_difference") is not None:
        parts.append(f"{better} minus {worse}: {c['mean_difference'] * 100:+.1f} accuracy points")
    else:
        parts.append(f"{better} against {worse}")
    if c.get("ci95"):
        low, high = c["ci95"]
        parts.append(f"95% interval {low * 100:+.1f} to {high * 100:+.1f} points")
    if c.get("p_value") is not None:
        parts.append(p_words(c["p_value"], c.get("replicates", REPLICATES)))
    if c.get("effect_size") is not None:
        parts.append(f"effect size d_z {c['effect_size']:.2f}")
    sentence = ", ".join(parts)
    if c.get("method"):  # the method that made the interval and p, with what it rests on
        sentence += f"; {plain(str(c['method']))}"
    elif c.get("seeds") is not None:
        seeds = c["seeds"]
        sentence += f"; paired over {seeds} seed{'s' if seeds != 1 else ''}"
    if c.get("decides_nothing"):
        n, size = c.get("test_examples"), c.get("examples_to_detect")
        sentence += (f". {n:,} test examples are too few to decide: no difference under about "
                     f"{c['detectable'] * 100:.0f} points could be detected")  # fmt: skip
        if size:
            sentence += f"; about {size:,} test examples would detect 10 points"
    elif c.get("detectable"):  # an older stored comparison could say 0: nothing is said then
        sentence += f"; it could detect differences of about {c['detectable'] * 100:.1f} points or more"
    if c.get("note"):
        sentence += f" ({plain(str(c['note']))})"
    return sentence


def _interval(ci: Any) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "n/a"


def render_html(report: Report, svg_charts: dict[str, str] | None = None) -> str:
    """Self-contained HTML: the Markdown's content, inline CSS, and charts as inline SVG."""
    body = _markdown_to_html(render_markdown(report))
    figures = "".join(
        f"<figure><figcaption>{html.escape(name.replace('_', ' '))}</figcaption>{_inline_svg(svg)}</figure>"
        for name, svg in (svg_charts or {}).items()
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(report.title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}{figures}</main></body></html>"
    )


def _inline_svg(svg: str) -> str:
    # Inline SVG needs no namespace declarations in HTML5; dropping them keeps the file free of URLs.
    return re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg).replace("xlink:href", "href")


_CSS = (
    "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#fafafa;color:#222}"
    "main{max-width:960px;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;margin:.5rem 0}"
    "td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}th{background:#f0f0f0}"
    "code,pre{background:#f4f4f4;padding:.1rem .3rem}pre{padding:.6rem;overflow:auto}"
    "figure{margin:1rem 0}figcaption{font-weight:600}"
)


def _markdown_to_html(text: str) -> str:
    """The small Markdown subset ``render_markdown`` writes: headings, tables, lists, code blocks, bold."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            block = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                block.append(html.escape(lines[i]))
                i += 1
            out.append("<pre><code>" + "\n".join(block) + "</code></pre>")
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif line.startswith("| "):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                if not lines[i].startswith("|---"):
                    rows.append([c.strip() for c in lines[i].strip("|").split(" | ")])
                i += 1
            head = "".join(f"<th>{_inline(c)}</th>" for c in rows[0])
            body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            continue
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
            continue
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
        i += 1
    return "\n".join(out)


def _inline(text: str) -> str:
    escaped = html.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    escaped = re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)
    return re.sub(r"(?<![\w*])_(.+?)_(?![\w*])", r"<em>\1</em>", escaped)


def chart_specs(report: Report) -> dict[str, Any]:
    """The report's charts as Vega-Lite: factor contributions, accuracy per arm, the learning curve."""
    specs: dict[str, Any] = {"factor_contributions": factor_chart(report.recommendation).to_dict()}
    if any(s.get("accuracy_mean") is not None for s in report.summary):  # a cancelled run has no empty chart
        specs["accuracy_per_arm"] = accuracy_chart(report.summary).to_dict()
    specs.update(report.charts)
    return specs


def render(report: Report, fmt: str) -> str:
    """The report in ``fmt`` (md, html or json); HTML charts are rendered to inline SVG here."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if fmt == "md":
        return render_markdown(report)
    if fmt == "json":
        return render_json(report)
    return render_html(report, {name: to_svg(spec) for name, spec in chart_specs(report).items()})
