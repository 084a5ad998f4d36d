"""Session state, initialised in one guarded place."""

from __future__ import annotations

from typing import Any

import streamlit as st

from advisor import example_profile

ANSWERS = "profile_answers"


def initialise() -> None:
    if ANSWERS not in st.session_state:
        st.session_state[ANSWERS] = example_profile().to_dict()


def answers() -> dict[str, Any]:
    return dict(st.session_state[ANSWERS])


def save_answers(values: dict[str, Any]) -> None:
    st.session_state[ANSWERS] = dict(values)
