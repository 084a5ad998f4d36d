"""Altair charts of a recommendation (pure functions: data in, chart spec out)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from advisor.recommend import Recommendation
from advisor.strategies import STRATEGY_BY_NAME


def factor_chart(rec: Recommendation) -> alt.Chart:
    """A diverging stacked bar per strategy: what each factor pushed, in points."""
    rows = [
        {
            "strategy": STRATEGY_BY_NAME[f["strategy"]].label,
            "factor": f["title"],
            "points": f["points"],
        }
        for f in rec.factors()
    ]
    order = [STRATEGY_BY_NAME[r.strategy].label for r in rec.ranking]
    data = pd.DataFrame(rows, columns=["strategy", "factor", "points"])
    return (
        alt.Chart(data, title="What pushed each strategy (points)")
        .mark_bar()
        .encode(
            x=alt.X("sum(points):Q", title="points"),
            y=alt.Y("strategy:N", sort=order, title=None),
            color=alt.Color("factor:N", title="factor", legend=alt.Legend(orient="bottom", columns=2)),
            tooltip=["strategy", "factor", alt.Tooltip("points:Q", format="+.2f")],
        )
        .properties(height=220)
    )
