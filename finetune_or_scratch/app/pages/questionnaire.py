"""Questionnaire: one widget per profile field, built from the validation table (labels and units from it)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from advisor import recommend
from advisor.profile import PROFILE_FIELDS, FieldSpec, check_answers
from bench.data.text_catalog import is_text_dataset
from bench.errors import BenchInputError
from finetune_or_scratch.app import state
from finetune_or_scratch.app.navigation import page, page_icon
from finetune_or_scratch.app.widgets import dataset_picker
from finetune_or_scratch.reports.words import plain

st.title("Fine-tune or train from scratch?")
st.caption("Describe your task. The advisor ranks five strategies with transparent, cited rules.")
st.page_link(page("rules.py"), label="How the advisor decides (rules and sources)", icon=page_icon("rules.py"))


def widget(spec: FieldSpec, current: Any) -> Any:
    label = spec.label or spec.name.replace("_", " ").capitalize()
    if spec.unit and spec.unit.rstrip("s") not in label.lower():
        label = f"{label} ({spec.unit})"  # "Time budget (hours)"; not "Classes (classes)"
    hint = spec.hint()
    # An example only where a person types a value: a toggle or a list of options shows its own choices.
    example = f" Example: {spec.example:,}." if spec.kind in (int, float) and not spec.choices else ""
    help_text = plain(f"{spec.help}{f' Enter {hint}.' if hint else ''}{example}")
    key = f"field_{spec.name}"
    # The widget's value lives in session state under its key, seeded from the saved answers:
    # the one way a value filled in by code (the estimate below) reaches a browser that
    # already shows the widget.
    st.session_state.setdefault(key, current)
    if spec.choices:
        return st.selectbox(label, spec.choices, help=help_text, key=key, format_func=lambda c: c.replace("_", " "))
    if spec.kind is bool:
        return st.toggle(label, help=help_text, key=key)
    if spec.kind is int:
        # No widget bounds: the validation table says what is wrong, next to the field.
        return int(st.number_input(label, step=1, help=help_text, key=key))
    return float(st.number_input(label, step=0.5, format="%g", help=help_text, key=key))


FILLED = "filled_from_data"  # {field: the dataset it was filled from}

with st.expander("Estimate from my data: classes, size, image side (for images) and similarity (LogME, a few seconds)"):
    source, facts = dataset_picker("similarity", describe=True)
    if st.button("Estimate from my data", disabled=source is None):
        try:
            with st.spinner("Scoring pretrained vs random-init features..."):
                from bench.evidence.logme import estimate_transferability  # deferred: torch
                from bench.evidence.text_transfer import estimate_text_transferability  # deferred: torch

                if is_text_dataset(source.source):
                    result = estimate_text_transferability(source.source, examples=1000)
                else:
                    result = estimate_transferability(source.source, examples=1000)
        except BenchInputError as error:
            st.error(plain(str(error), {source.source: source.label}), icon=":material/warning:")
        except (ValueError, ArithmeticError) as error:  # the estimate's maths on data it cannot handle
            st.error(
                f"{source.label}: the similarity could not be estimated from this data ({error}). "
                "Answer the similarity question below yourself.",
                icon=":material/warning:",
            )
        else:
            # Every answer the data settles, measured (classes, labeled examples, image side) or estimated
            # (similarity); each is marked at its widget below.
            filled = {**facts.measured_answers(), **result.suggested_answers()}
            state.save_answers({**state.answers(), **filled})
            st.session_state[FILLED] = {name: source.label for name in filled}
            for name, value in filled.items():  # the form below is not drawn yet: its widgets take these
                st.session_state[f"field_{name}"] = value
            st.session_state["similarity_note"] = plain(result.explain(), {source.source: source.label})
    if st.session_state.get("similarity_note"):
        st.info(st.session_state["similarity_note"])

with st.form("questionnaire"):
    answers = state.answers()
    errors: dict[str, str] = st.session_state.get(state.ERRORS, {})
    filled_from: dict[str, str] = st.session_state.get(FILLED, {})
    left, right = st.columns(2)
    values: dict[str, Any] = {}
    for index, spec in enumerate(PROFILE_FIELDS):
        with left if index % 2 == 0 else right:
            values[spec.name] = widget(spec, answers[spec.name])
            if spec.name in filled_from and values[spec.name] == answers[spec.name]:
                st.caption(f"↳ filled from {filled_from[spec.name]}")
            if spec.name in errors:
                st.error(f"{spec.label or spec.name}: {plain(errors[spec.name])}", icon=":material/warning:")
    submitted = st.form_submit_button("Get recommendation", type="primary")

if submitted:
    profile, errors = check_answers(values)
    st.session_state[state.ERRORS] = errors
    state.save_answers(values)
    if profile is None:
        st.rerun()
    st.session_state[state.PROFILE_ID] = state.store().save_profile(values, recommend(profile).to_dict())
    st.switch_page(page("recommendation.py"), query_params=state.run_params() or None)
