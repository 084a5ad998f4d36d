"""Altair charts of recommendations and measurements (pure functions: data in, chart spec out)."""

from __future__ import annotations

import json
import math
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import vl_convert


def factor_chart(recommendation: dict[str, Any]) -> alt.Chart:
    """A diverging stacked bar per strategy: what each factor pushed, in points (from ``Recommendation.to_dict()``)."""
    labels = {r["strategy"]: r["label"] for r in recommendation["ranking"]}
    rows = [
        {"strategy": labels[f["strategy"]], "factor": f["title"], "points": f["points"]}
        for f in recommendation["factors"]
    ]
    data = pd.DataFrame(rows, columns=["strategy", "factor", "points"])
    return (
        alt.Chart(data, title="What pushed each strategy (points)")
        .mark_bar()
        .encode(
            x=alt.X("sum(points):Q", title="points"),
            y=alt.Y("strategy:N", sort=[r["label"] for r in recommendation["ranking"]], title=None),
            color=alt.Color("factor:N", title="factor", legend=alt.Legend(orient="bottom", columns=2)),
            tooltip=["strategy", "factor", alt.Tooltip("points:Q", format="+.2f")],
        )
        .properties(height=220, width=520)
    )


def accuracy_chart(summary: list[dict[str, Any]]) -> alt.LayerChart:
    """Mean test accuracy per arm with ± one standard deviation (rows of ``bench.runs.export.summarise``)."""
    rows = [
        {
            "arm": s["arm"],
            "accuracy": s["accuracy_mean"],
            "low": s["accuracy_mean"] - (s.get("accuracy_std") or 0.0),
            "high": s["accuracy_mean"] + (s.get("accuracy_std") or 0.0),
        }
        for s in summary
        if s.get("accuracy_mean") is not None
    ]
    data = pd.DataFrame(rows, columns=["arm", "accuracy", "low", "high"])
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("accuracy:Q", scale=alt.Scale(domain=[0, 1]), title="test accuracy"),
            y=alt.Y("arm:N", sort="-x", title=None),
            tooltip=["arm", alt.Tooltip("accuracy:Q", format=".3f")],
        )
    )
    spread = (
        alt.Chart(data)
        .mark_errorbar()
        .encode(x=alt.X("low:Q", title="test accuracy"), x2="high:Q", y=alt.Y("arm:N", sort="-x"))
    )
    return alt.layer(bars, spread).properties(
        title="Test accuracy (mean ± std over seeds)", height=40 * max(1, len(rows)), width=520
    )


def to_svg(spec: dict[str, Any] | alt.TopLevelMixin) -> str:
    """Render a chart offline (vl-convert bundles Vega; no browser, no network)."""
    text = spec.to_json() if hasattr(spec, "to_json") else json.dumps(spec)
    return vl_convert.vegalite_to_svg(text)


def curve_chart(curve: dict[str, Any]) -> alt.LayerChart:
    """Accuracy against labeled examples (log scale): means with 95% intervals, fitted curves, the crossover.

    ``curve`` is the stored analysis (``CurveResult.analysis()``): points, fits and crossover as plain data.
    """
    points = pd.DataFrame(
        [
            {
                "arm": p["arm"],
                "examples": p["examples"],
                "accuracy": p["mean"],
                "low": max(0.0, p["ci95"][0]) if p.get("ci95") else p["mean"],
                "high": min(1.0, p["ci95"][1]) if p.get("ci95") else p["mean"],
                "seeds": p["seeds"],
            }
            for p in curve["points"]
        ],
        columns=["arm", "examples", "accuracy", "low", "high", "seeds"],
    )
    sizes = sorted({p["examples"] for p in curve["points"]})
    crossover = curve["crossover"]
    x = alt.X("examples:Q", scale=alt.Scale(type="log"), title="labeled training examples (log scale)")
    y = alt.Y("accuracy:Q", title="test accuracy", scale=alt.Scale(zero=False))
    color = alt.Color("arm:N", title="arm")
    layers = [
        alt.Chart(points)
        .mark_line(point=True)
        .encode(x=x, y=y, color=color, tooltip=["arm", "examples", "accuracy", "seeds"]),
        alt.Chart(points)
        .mark_errorbar()
        .encode(x=x, y=alt.Y("low:Q", title="test accuracy"), y2="high:Q", color=color),
    ]
    fitted = []
    if sizes:
        crossed = crossover["status"] == "crossover"
        top = sizes[-1] * (max(3, crossover["examples"] / sizes[-1] * 1.5) if crossed else 3)
        grid = np.logspace(math.log10(sizes[0]), math.log10(top), 60)
        for fit in curve["fits"]:
            if fit["a"] is not None and not math.isnan(fit["a"]):
                predicted = fit["a"] - fit["b"] * np.power(grid, -fit["c"])
                fitted += [
                    {"arm": fit["arm"], "examples": float(n), "fit": float(v)}
                    for n, v in zip(grid, predicted, strict=True)
                ]
    if fitted:
        layers.append(
            alt.Chart(pd.DataFrame(fitted))
            .mark_line(strokeDash=[4, 3], opacity=0.7)
            .encode(x=x, y=alt.Y("fit:Q", title="test accuracy"), color=color)
        )
    if crossover["status"] == "crossover":
        rule = pd.DataFrame([{"examples": crossover["examples"], "label": "crossover"}])
        layers.append(
            alt.Chart(rule).mark_rule(color="black", strokeDash=[2, 2]).encode(x="examples:Q", tooltip=["label"])
        )
    return alt.layer(*layers).properties(title="Learning curves (dashed: power-law fits)", width=560, height=320)
