"""How the advisor decides: the rules page (docs/rules.md), rendered as is."""

from pathlib import Path

import streamlit as st

RULES_PAGE = Path(__file__).resolve().parents[1] / "docs" / "rules.md"

st.markdown(RULES_PAGE.read_text(encoding="utf-8"))
