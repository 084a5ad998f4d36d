"""Streamlit entry point for `make app` (`streamlit run app.py`): the app lives in the package."""

from finetune_or_scratch.app.navigation import run

run()
