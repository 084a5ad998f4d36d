"""Altair charts of recommendations and measurements (pure functions: data in, chart spec out)."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd


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
    """Mean test accuracy per arm with ± one standard deviation (rows of ``bench.results.summarise``)."""
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
    import json

    import vl_convert

    text = spec.to_json() if hasattr(spec, "to_json") else json.dumps(spec)
    return vl_convert.vegalite_to_svg(text)
