"""Session state and shared resources, initialised in one guarded place."""

from __future__ import annotations

import uuid
from typing import Any

import streamlit as st

from advisor import load_profile
from advisor.shipped import example_profiles
from bench.runs.store import RunStore

SAMPLE_PROFILE = example_profiles()["fashion_mnist_quick"]
ANSWERS, SESSION, PROFILE_ID, RUN_ID = "profile_answers", "session_id", "profile_id", "run_id"


@st.cache_resource
def store() -> RunStore:
    """One store per server process. It holds only a path; on start, runs whose worker died are marked."""
    run_store = RunStore()
    run_store.mark_interrupted()
    return run_store


def initialise() -> None:
    if SESSION not in st.session_state:
        st.session_state[SESSION] = uuid.uuid4().hex[:12]
        st.session_state[ANSWERS] = load_profile(SAMPLE_PROFILE).to_dict()
        st.session_state[PROFILE_ID] = None
        # Reopening a run's URL (?run=ID) shows that run again.
        st.session_state[RUN_ID] = st.query_params.get("run")


def answers() -> dict[str, Any]:
    return dict(st.session_state[ANSWERS])


def save_answers(values: dict[str, Any]) -> None:
    st.session_state[ANSWERS] = dict(values)


def current_run_id() -> str | None:
    return st.session_state.get(RUN_ID)


def open_run(run_id: str) -> None:
    st.session_state[RUN_ID] = run_id
    st.query_params["run"] = run_id
