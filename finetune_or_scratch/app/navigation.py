"""The app's navigation: page config, session defaults, the page list. Pages live in ``pages/``."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from bench.runs.store import StoreError
from finetune_or_scratch.app import state

PAGES = Path(__file__).resolve().parent / "pages"
# (file, title, icon); the first is the default page. Icons are Material Symbols, a font Streamlit serves itself:
# emoji need a system emoji font, and a server or kiosk without one (this machine, many containers) drew empty boxes.
PAGE_LIST = (
    ("questionnaire.py", "Questionnaire", ":material/edit_note:"),
    ("recommendation.py", "Recommendation", ":material/explore:"),
    ("validation.py", "Validation run", ":material/directions_run:"),
    ("verdict.py", "Verdict", ":material/balance:"),
    ("history.py", "History", ":material/folder_open:"),
    ("report.py", "Report", ":material/description:"),
    ("rules.py", "How it decides", ":material/menu_book:"),
)


def page_icon(file: str) -> str:
    """A page's icon, as the navigation shows it: every link to the page carries the same one."""
    return next(icon for name, _, icon in PAGE_LIST if name == file)


def page(file: str) -> str:
    """A page's path for ``st.page_link`` and ``st.switch_page`` (absolute: the entry script may be anywhere)."""
    return str(PAGES / file)


def run() -> None:
    """Build the navigation and run the chosen page (called by every entry script on each rerun)."""
    st.set_page_config(page_title="Fine-tune or scratch?", page_icon=":material/explore:", layout="wide")
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
