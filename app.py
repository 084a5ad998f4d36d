"""Streamlit entry point: session defaults and navigation only. Run with `make app`."""

import streamlit as st

from app_pages import state

st.set_page_config(page_title="Fine-tune or scratch?", page_icon="🧭", layout="wide")
state.initialise()

pages = [
    st.Page("app_pages/questionnaire.py", title="Questionnaire", icon="📝", default=True),
    st.Page("app_pages/recommendation.py", title="Recommendation", icon="🧭"),
    st.Page("app_pages/validation.py", title="Validation run", icon="🏃"),
    st.Page("app_pages/verdict.py", title="Verdict", icon="⚖️"),
    st.Page("app_pages/history.py", title="History", icon="🗂️"),
    st.Page("app_pages/report.py", title="Report", icon="📄"),
    st.Page("app_pages/rules.py", title="How it decides", icon="📚"),
]
st.navigation(pages).run()
