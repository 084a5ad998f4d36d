"""Altair charts of recommendations and measurements (pure functions: data in, chart spec out)."""

from __future__ import annotations

import json
import math
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import vl_convert

from bench.vocabulary import CrossoverStatus
from finetune_or_scratch.reports.words import arm_label

# A categorical palette whose neighbours stay apart (Vega's category10 plus navy and near-black):
# no two reds, and no colour repeats before the twelfth factor.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#222222",
)  # fmt: skip


def short_label(label: str) -> str:
    """A strategy's label without its parenthesis, for a chart axis ("Hybrid (in-domain …)" -> "Hybrid")."""
    return label.split(" (")[0]


def _colour(field: str, title: str, domain: list[str], **legend: Any) -> alt.Color:
    return alt.Color(
        f"{field}:N",
        title=title,
        scale=alt.Scale(domain=domain, range=list(PALETTE[: max(1, len(domain))])),
        legend=alt.Legend(labelLimit=0, symbolLimit=0, titleLimit=0, **legend),
    )


def factor_chart(recommendation: dict[str, Any]) -> alt.Chart:
    """A diverging stacked bar per strategy: what each factor pushed, in points (from ``Recommendation.to_dict()``).

    Labels are never cut: the legend sits under the plot, one factor a line, with no label limit.
    """
    labels = {r["strategy"]: short_label(r["label"]) for r in recommendation["ranking"]}
    rows = [
        {"strategy": labels.get(f["strategy"], arm_label(f["strategy"])), "factor": f["title"], "points": f["points"]}
        for f in recommendation["factors"]
    ]
    data = pd.DataFrame(rows, columns=["strategy", "factor", "points"])
    factors = list(dict.fromkeys(data["factor"]))
    return (
        alt.Chart(data, title="What pushed each strategy (points)")
        .mark_bar()
        .encode(
            x=alt.X("sum(points):Q", title="points (negative: counts against)"),
            y=alt.Y("strategy:N", sort=list(labels.values()), title=None, axis=alt.Axis(labelLimit=0)),
            color=_colour("factor", "factor", factors, orient="bottom", columns=1, direction="vertical"),
            tooltip=["strategy", "factor", alt.Tooltip("points:Q", format="+.2f")],
        )
        .properties(height=40 * max(1, len(labels)), width=520)
    )


def factor_chart_height(recommendation: dict[str, Any]) -> int:
    """Pixels the factor chart needs in the app: bars, then one legend line per factor (nothing cut)."""
    factors = {f["title"] for f in recommendation["factors"]}
    return 90 + 40 * len(recommendation["ranking"]) + 22 * len(factors)


def accuracy_chart(
    summary: list[dict[str, Any]], title: str = "Test accuracy (mean ± std over seeds)"
) -> alt.LayerChart:
    """Mean test accuracy per arm with ± one standard deviation (rows of ``bench.runs.export.summarise``).

    Arms without a finished trial are left out (a cancelled arm is not an empty bar).
    """
    return compare_accuracy_chart([("", summary)], title=title)


def compare_accuracy_chart(
    runs: list[tuple[str, list[dict[str, Any]]]], title: str = "Test accuracy per arm (mean ± std over seeds)"
) -> alt.LayerChart:
    """Accuracy per arm of several runs on one axis: one bar per run within each arm, coloured by run."""
    rows = [
        {
            "run": run,
            "arm": arm_label(s["arm"]),
            "accuracy": s["accuracy_mean"],
            "low": s["accuracy_mean"] - (s.get("accuracy_std") or 0.0),
            "high": s["accuracy_mean"] + (s.get("accuracy_std") or 0.0),
        }
        for run, summary in runs
        for s in summary
        if s.get("accuracy_mean") is not None
    ]
    data = pd.DataFrame(rows, columns=["run", "arm", "accuracy", "low", "high"])
    several = len(runs) > 1
    y = alt.Y("arm:N", title=None, axis=alt.Axis(labelLimit=0))
    offset = {"yOffset": alt.YOffset("run:N")} if several else {}
    colour = (
        {"color": _colour("run", "run", [run for run, _ in runs], orient="bottom", columns=1)}
        if several
        else {"color": alt.value(PALETTE[0])}
    )
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("accuracy:Q", scale=alt.Scale(domain=[0, 1]), title="test accuracy"),
            y=y,
            tooltip=[*(["run"] if several else []), "arm", alt.Tooltip("accuracy:Q", format=".3f")],
            **offset,
            **colour,
        )
    )
    spread = (
        alt.Chart(data)
        .mark_errorbar(color="black")
        .encode(x=alt.X("low:Q", title="test accuracy"), x2="high:Q", y=y, **offset)
    )
    arms = max(1, data["arm"].nunique())
    return alt.layer(bars, spread).properties(title=title, height=(40 + 20 * several) * arms, width=520)


def accuracy_chart_height(runs: int, arms: int) -> int:
    """Pixels an accuracy chart needs in the app (explicit: Streamlit collapses band axes otherwise)."""
    return 110 + (40 + 20 * (runs > 1)) * max(1, arms) + (24 * runs if runs > 1 else 0)


def to_svg(spec: dict[str, Any] | alt.TopLevelMixin) -> str:
    """Render a chart offline (vl-convert bundles Vega; no browser, no network)."""
    text = spec.to_json() if hasattr(spec, "to_json") else json.dumps(spec)
    return vl_convert.vegalite_to_svg(text)


def curve_chart(curve: dict[str, Any]) -> alt.LayerChart:
    """Accuracy against labeled examples (log scale): means with 95% intervals, fitted curves, the crossover.

    ``curve`` is the stored analysis (``CurveResult.analysis()``): points, fits and crossover as plain data.
    """
    return compare_curve_chart([("", curve)], title="Learning curves (dashed: power-law fits)")


def compare_curve_chart(
    curves: list[tuple[str, dict[str, Any]]], title: str = "Learning curves of both runs (line style: run)"
) -> alt.LayerChart:
    """Learning curves of one or several runs on one axis: colour is the arm; with several runs, the
    line style is the run (fits are left out then, so the measured lines stay readable).

    A size where the arm did not train (its health: starved or at chance) is not data about the arm:
    it is drawn as a hollow cross off the line, "did not train" in its tooltip. The x axis spans the
    measured sizes (and a crossover the fits find beyond them), not a rounded-up decade.
    """
    several = len(curves) > 1
    points = pd.DataFrame(
        [
            {
                "run": run,
                "arm": arm_label(p["arm"]),
                "examples": p["examples"],
                "accuracy": p["mean"],
                "low": max(0.0, p["ci95"][0]) if p.get("ci95") else p["mean"],
                "high": min(1.0, p["ci95"][1]) if p.get("ci95") else p["mean"],
                "seeds": p.get("seeds"),
                "trained": trained_words(p),
            }
            for run, curve in curves
            for p in curve.get("points", [])
            if p.get("mean") is not None
        ],
        columns=["run", "arm", "examples", "accuracy", "low", "high", "seeds", "trained"],
    )
    arms = list(dict.fromkeys(points["arm"]))
    measured = points[points["trained"] == "trained"]
    untrained = points[points["trained"] != "trained"]
    x = alt.X(
        "examples:Q",
        scale=alt.Scale(type="log", domain=_size_domain(curves), nice=False),
        title="labeled training examples (log scale)",
    )
    y = alt.Y("accuracy:Q", title="test accuracy", scale=alt.Scale(zero=False))
    color = _colour("arm", "arm", arms, orient="bottom", columns=2)
    dash = {"strokeDash": alt.StrokeDash("run:N", title="run", legend=alt.Legend(orient="bottom", labelLimit=0))}
    tooltip = [*(["run"] if several else []), "arm", "examples", "accuracy", "seeds", "trained"]
    layers = [
        alt.Chart(measured)
        .mark_line(point=True)
        .encode(x=x, y=y, color=color, tooltip=tooltip, **(dash if several else {})),
        alt.Chart(measured)
        .mark_errorbar()
        .encode(x=x, y=alt.Y("low:Q", title="test accuracy"), y2="high:Q", color=color),
    ]
    if len(untrained):
        layers.append(
            alt.Chart(untrained)
            .mark_point(shape="cross", filled=False, size=90, opacity=0.8)
            .encode(x=x, y=y, color=color, tooltip=tooltip)
        )
    if not several:
        layers += _fit_layers(curves[0][1], x, color)
    return alt.layer(*layers).properties(title=title, width=560, height=320)


def trained_words(point: dict[str, Any]) -> str:
    """'trained', or 'did not train' (every seed), or 'did not train (1 of 3 seeds)'."""
    untrained, seeds = point.get("untrained") or 0, point.get("seeds") or 0
    if not untrained:
        return "trained"
    return "did not train" if untrained >= seeds else f"did not train ({untrained} of {seeds} seeds)"


def _size_domain(curves: list[tuple[str, dict[str, Any]]]) -> list[float]:
    """The x axis: the smallest to the largest measured size, or to a crossover found beyond them."""
    sizes = [p["examples"] for _, curve in curves for p in curve.get("points", [])] or [1, 10]
    top = max(sizes)
    for _, curve in curves:
        crossover = curve.get("crossover") or {}
        if crossover.get("status") == CrossoverStatus.CROSSOVER and crossover.get("examples"):
            top = max(top, float(crossover["examples"]) * 1.2)
    return [min(sizes), top]


def _fit_layers(curve: dict[str, Any], x: alt.X, color: alt.Color) -> list[alt.Chart]:
    """The dashed power-law fits (over the axis's span) and the crossover rule of one stored curve."""
    sizes = sorted({p["examples"] for p in curve.get("points", [])})
    crossover = curve.get("crossover") or {}
    crossed = crossover.get("status") == CrossoverStatus.CROSSOVER and crossover.get("examples")
    fitted = []
    if sizes:
        low, top = _size_domain([("", curve)])
        grid = np.logspace(math.log10(low), math.log10(top), 60)
        for fit in curve.get("fits", []):
            if fit.get("a") is not None and not math.isnan(fit["a"]):
                predicted = fit["a"] - fit["b"] * np.power(grid, -fit["c"])
                fitted += [
                    {"arm": arm_label(fit["arm"]), "examples": float(n), "fit": float(v)}
                    for n, v in zip(grid, predicted, strict=True)
                ]
    layers = []
    if fitted:
        layers.append(
            alt.Chart(pd.DataFrame(fitted))
            .mark_line(strokeDash=[4, 3], opacity=0.7)
            .encode(x=x, y=alt.Y("fit:Q", title="test accuracy"), color=color)
        )
    if crossed:
        rule = pd.DataFrame([{"examples": crossover["examples"], "label": "crossover"}])
        layers.append(
            alt.Chart(rule).mark_rule(color="black", strokeDash=[2, 2]).encode(x="examples:Q", tooltip=["label"])
        )
    return layers


def reliability_chart(calibration: dict[str, list[dict[str, Any]]]) -> alt.LayerChart:
    """Reliability diagram: stated confidence against how often the advice was right, per bin and part.

    ``calibration`` maps a part ("tuning", "held-out", "measured grid") to the rows of
    ``scripts/score_evidence.py``'s calibration table (mean_confidence, fraction_right, interval, rows).
    The diagonal is perfect calibration; the bars are 95% Wilson intervals.
    """
    rows = [
        {
            "part": part,
            "stated": b["mean_confidence"],
            "right": b["fraction_right"],
            "low": b["interval"][0],
            "high": b["interval"][1],
            "rows": b["rows"],
            "bin": b["confidence"],
        }
        for part, table in calibration.items()
        for b in table
    ]
    data = pd.DataFrame(rows, columns=["part", "stated", "right", "low", "high", "rows", "bin"])
    parts = list(calibration)
    scale = alt.Scale(domain=[0, 1])
    x = alt.X("stated:Q", scale=scale, title="stated confidence (mean in the bin)")
    colour = _colour("part", "part", parts, orient="bottom")
    diagonal = (
        alt.Chart(pd.DataFrame({"stated": [0.0, 1.0], "right": [0.0, 1.0]}))
        .mark_line(color="#999999", strokeDash=[4, 4])
        .encode(x=x, y=alt.Y("right:Q", scale=scale))
    )
    points = (
        alt.Chart(data)
        .mark_point(filled=True)
        .encode(
            x=x,
            y=alt.Y("right:Q", scale=scale, title="fraction where the advice was the published winner"),
            color=colour,
            size=alt.Size("rows:Q", title="rows in the bin", legend=alt.Legend(orient="bottom")),
            tooltip=[
                "part",
                "bin",
                "rows",
                alt.Tooltip("stated:Q", format=".2f"),
                alt.Tooltip("right:Q", format=".2f"),
            ],
        )
    )
    intervals = alt.Chart(data).mark_rule().encode(x=x, y="low:Q", y2="high:Q", color=colour)
    return alt.layer(diagonal, intervals, points).properties(
        title="Reliability: stated confidence against outcomes (95% intervals)", width=420, height=360
    )
