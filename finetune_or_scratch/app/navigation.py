"""The app's navigation: page config, session defaults, the page list. Pages live in ``pages/``."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from bench.runs.store import StoreError
from finetune_or_scratch.app import state

PAGES = Path(__file__).resolve().parent / "pages"
# (file, title, icon); the first is the default page.
PAGE_LIST = (
    ("questionnaire.py", "Questionnaire", "📝"),
    ("recommendation.py", "Recommendation", "🧭"),
    ("validation.py", "Validation run", "🏃"),
    ("verdict.py", "Verdict", "⚖️"),
    ("history.py", "History", "🗂️"),
    ("report.py", "Report", "📄"),
    ("rules.py", "How it decides", "📚"),
)


def page(file: str) -> str:
    """A page's path for ``st.page_link`` and ``st.switch_page`` (absolute: the entry script may be anywhere)."""
    return str(PAGES / file)


def run() -> None:
    """Build the navigation and run the chosen page (called by every entry script on each rerun)."""
    st.set_page_config(page_title="Fine-tune or scratch?", page_icon="🧭", layout="wide")
    state.initialise()
    pages = [
        st.Page(PAGES / file, title=title, icon=icon, default=index == 0)
        for index, (file, title, icon) in enumerate(PAGE_LIST)
    ]
    try:
        # In the header, not a sidebar: at 800 px a sidebar took a third of the width from the tables.
        st.navigation(pages, position="top").run()
    except StoreError as error:  # a damaged or unwritable run store: its file and what to do, not a traceback
        st.error(str(error))
        st.stop()
