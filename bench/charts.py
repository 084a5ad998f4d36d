"""Altair charts of measurements (pure functions: results in, chart spec out)."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from bench.curve import CurveResult


def curve_chart(curve: CurveResult) -> alt.LayerChart:
    """Accuracy against labeled examples (log scale): means with 95% intervals, fitted curves, the crossover."""
    points = pd.DataFrame(
        [
            {
                "arm": p.arm,
                "examples": p.examples,
                "accuracy": p.mean,
                "low": max(0.0, p.ci95[0]) if p.ci95 else p.mean,
                "high": min(1.0, p.ci95[1]) if p.ci95 else p.mean,
                "seeds": p.seeds,
            }
            for p in curve.points
        ]
    )
    sizes = sorted({p.examples for p in curve.points})
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
        top = sizes[-1] * (
            3 if curve.crossover.status != "crossover" else max(3, curve.crossover.examples / sizes[-1] * 1.5)
        )
        grid = np.logspace(math.log10(sizes[0]), math.log10(top), 60)
        for fit in curve.fits:
            if not math.isnan(fit.a):
                fitted += [{"arm": fit.arm, "examples": float(n), "fit": float(fit.predict(n))} for n in grid]
    if fitted:
        layers.append(
            alt.Chart(pd.DataFrame(fitted))
            .mark_line(strokeDash=[4, 3], opacity=0.7)
            .encode(x=x, y=alt.Y("fit:Q", title="test accuracy"), color=color)
        )
    if curve.crossover.status == "crossover":
        rule = pd.DataFrame([{"examples": curve.crossover.examples, "label": "crossover"}])
        layers.append(
            alt.Chart(rule).mark_rule(color="black", strokeDash=[2, 2]).encode(x="examples:Q", tooltip=["label"])
        )
    return alt.layer(*layers).properties(title="Learning curves (dashed: power-law fits)", width=560, height=320)
