"""Session state and shared resources, initialised in one guarded place."""

from __future__ import annotations

import uuid
from typing import Any

import streamlit as st

from advisor import load_profile
from advisor.profile import PROFILE_FIELDS
from advisor.shipped import example_profiles
from bench.runs.store import RunStore

SAMPLE_PROFILE = example_profiles()["fashion_mnist_quick"]
ANSWERS, SESSION, PROFILE_ID, RUN_ID = "profile_answers", "session_id", "profile_id", "run_id"
ERRORS = "profile_errors"


@st.cache_resource
def store() -> RunStore:
    """One store per server process. It holds only a path; on start, runs whose worker died are marked."""
    run_store = RunStore()
    run_store.mark_interrupted()
    return run_store


def initialise() -> None:
    """Session defaults on a session's first run; afterwards, keep the URL's ``?run=`` in step with the run.

    Within a session the run in session state is the truth and the address follows it (a rerun
    may still carry the previous address); a new tab or a reload starts from the address.
    """
    if SESSION not in st.session_state:
        st.session_state[SESSION] = uuid.uuid4().hex[:12]
        st.session_state[ANSWERS] = load_profile(SAMPLE_PROFILE).to_dict()
        st.session_state[PROFILE_ID] = None
        # Reopening a run's URL (?run=ID) shows that run again.
        st.session_state[RUN_ID] = st.query_params.get("run")
    run_id = st.session_state.get(RUN_ID)
    if run_id and st.query_params.get("run") != run_id:
        st.query_params["run"] = run_id  # every page's address names the run: bookmarkable, shareable


def answers() -> dict[str, Any]:
    return dict(st.session_state[ANSWERS])


def save_answers(values: dict[str, Any]) -> None:
    st.session_state[ANSWERS] = dict(values)


def load_answers(values: dict[str, Any]) -> None:
    """Put saved answers back into the questionnaire: its widgets reseed from them on the next draw."""
    save_answers(values)
    st.session_state[ERRORS] = {}
    for spec in PROFILE_FIELDS:
        st.session_state.pop(f"field_{spec.name}", None)


def current_run_id() -> str | None:
    return st.session_state.get(RUN_ID)


def run_params() -> dict[str, str]:
    """Query parameters every link carries: the current run, if any."""
    run_id = current_run_id()
    return {"run": run_id} if run_id else {}


def open_run(run_id: str | None) -> None:
    st.session_state[RUN_ID] = run_id
    if run_id:
        st.query_params["run"] = run_id
    else:
        st.query_params.pop("run", None)
