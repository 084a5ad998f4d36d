"""Streamlit entry script inside the package: ``finetune-or-scratch app`` runs this file from any folder."""

from finetune_or_scratch.app.navigation import run

run()
