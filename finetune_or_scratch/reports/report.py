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

from finetune_or_scratch.reports.charts import accuracy_chart, curve_chart, factor_chart, to_svg

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
        title=f"Fine-tune or scratch: {recommendation['strategy'].replace('_', ' ')}",
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
    lines += _table(["field", "answer"], [[k, json.dumps(v)] for k, v in report.profile.items()])
    lines += ["", "## Recommendation", "", f"**{rec['strategy']}**, confidence {rec['confidence']:.2f}.", ""]
    lines += _table(
        ["rank", "strategy", "score", "note"],
        [[i, r["strategy"], f"{r['score']:+.2f}", r.get("note", "")] for i, r in enumerate(rec["ranking"], 1)],
    )
    lines += ["", "### Factor contributions (points)", ""]
    lines += _table(
        ["factor", "strategy", "points"], [[f["title"], f["strategy"], f"{f['points']:+.2f}"] for f in rec["factors"]]
    )
    lines += ["", "### Why", ""]
    lines += [f"- **{r['title']}**: {r['text']} _Source: {r['source']}._" for r in rec["reasons"]]
    lines += ["", "### What would change the answer", ""]
    lines += [f"- {c['text']}" for c in rec["counterfactuals"]] or ["- nothing nearby"]
    lines += ["", f"### Recipe: {rec['recipe']['strategy']}", ""]
    lines += _table(
        ["setting", "value"], [[k.replace("_", " "), v] for k, v in rec["recipe"].items() if k != "strategy"]
    )
    lines += _measured_markdown(report)
    return "\n".join(lines) + "\n"


def _measured_markdown(report: Report) -> list[str]:
    lines = ["", "## Measured results", ""]
    if not report.trials:
        return [*lines, "No validation run yet."]
    lines += _table(
        ["arm", "trials", "test accuracy (mean ± std)", "macro-F1", "train s", "img/s"],
        [
            [
                s["arm"],
                s["trials"],
                _fmt(s["accuracy_mean"])
                + (f" ± {_fmt(s['accuracy_std'])}" if s.get("accuracy_std") is not None else ""),
                _fmt(s["macro_f1_mean"]),
                _fmt(s["train_seconds_mean"], 1),
                _fmt(s["images_per_second_mean"], 0),
            ]
            for s in report.summary
        ],
    )
    if report.curve:
        lines += ["", "### Learning curve", ""]
        lines += _table(
            ["arm", "examples", "mean", "95% interval"],
            [[p["arm"], p["examples"], _fmt(p["mean"]), _interval(p["ci95"])] for p in report.curve["points"]],
        )
        lines += ["", f"**Crossover:** {report.curve['crossover']['text']}"]
        lines += [f"- note: {n}" for n in report.curve.get("notes", [])]
    v = report.verdict
    if v:
        lines += ["", "## Verdict", "", f"**{v['outcome'].upper()}**: {v['summary']}. {v['reason']}."]
        c = v.get("comparison")
        if c:
            lines.append(
                f"Paired over {c['seeds']} seeds: difference {c['mean_difference']:+.3f}, 95% CI {_interval(c['ci95'])}, "
                f"p {_fmt(c['p_value'], 4)}, effect size d_z {_fmt(c['effect_size'], 2)}."
            )
        if v.get("not_computed"):
            lines.append("Not computed: " + "; ".join(v["not_computed"]) + ".")
    env = report.environment
    lines += [
        "",
        "## Reproduce",
        "",
        f"- dataset fingerprint: `{env['dataset_fingerprint']}`",
        f"- device: {env['device']}",
    ]
    lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    lines.append(f"- seeds: {env['seeds']}")
    if report.run:
        lines += [
            f"- run {report.run['id']}: {report.run['status']}, {report.run['created']} to {report.run.get('finished')}"
        ]
        lines += ["", "```json", json.dumps(report.run["config"], indent=2), "```"]
    return lines


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
    if report.summary:
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
