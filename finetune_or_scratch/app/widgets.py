"""Widgets shared by pages: a dataset choice (built-in, upload, folder) checked and described at the widget."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import streamlit as st

from advisor.vocabulary import Modality
from bench.data.catalog import DATASETS
from bench.data.datasets import check_source, load_dataset
from bench.data.text_catalog import TEXT_DATASETS, check_text_source, is_text_dataset, load_text_dataset
from bench.errors import BenchInputError
from bench.runs.store import default_db_path
from finetune_or_scratch.app.datasets import DatasetChoice, DatasetFacts, facts_of
from finetune_or_scratch.reports.words import plain

# Upload limit in MB (the server's own limit is .streamlit/config.toml's maxUploadSize).
MAX_UPLOAD_MB = int(os.environ.get("FOS_MAX_UPLOAD_MB", "200"))
BUILT_IN, UPLOAD, SERVER_FOLDER = "Built-in", "Upload a .zip", "Folder on the server"  # the radio's options
KINDS = (BUILT_IN, UPLOAD, SERVER_FOLDER)


@st.cache_data(show_spinner="Reading the dataset…", max_entries=16)
def dataset_facts(source: str, modified: float) -> DatasetFacts:
    """Images (or texts), classes and training pool of a dataset (cached per path and modification time)."""
    if is_text_dataset(source):
        data = load_text_dataset(source)
        return facts_of(data.labels, None, len(data.skipped), modality=Modality.TEXT)
    data = load_dataset(source)
    return facts_of(data.labels, data.native_resolution, len(data.skipped))


def facts_for(choice: DatasetChoice) -> DatasetFacts:
    """Cached facts; raises BenchInputError with the message worded for the widget (the file's own name)."""
    path = Path(choice.source)
    builtin = choice.source in DATASETS or choice.source in TEXT_DATASETS
    modified = path.stat().st_mtime if not builtin and path.exists() else 0.0
    try:
        return dataset_facts(choice.source, modified)
    except BenchInputError as error:
        raise BenchInputError(plain(str(error), {choice.source: choice.label})) from None


def dataset_picker(key: str, describe: bool = True) -> tuple[DatasetChoice | None, DatasetFacts | None]:
    """A built-in dataset, an uploaded .zip of class folders, or a folder on the server.

    Returns the choice and its facts, or (None, None) until a usable dataset is chosen; a bad
    one is refused here, with the message under the widget, never later as a failed run.
    """
    source = st.radio("Dataset", KINDS, horizontal=True, key=f"{key}_kind")
    choice = _choose(key, source)
    if choice is None:
        return None, None
    try:
        facts = facts_for(choice)
    except BenchInputError as error:
        st.error(
            f"{choice.label}: {str(error).removeprefix('dataset ').removeprefix(choice.label + ': ')}",
            icon=":material/warning:",
        )
        return None, None
    if describe:
        st.caption(f"**{choice.label}**: {facts.describe()}.")
    return choice, facts


def _choose(key: str, source: str) -> DatasetChoice | None:
    if source == BUILT_IN:
        names = [name for name, spec in DATASETS.items() if spec.available()] + list(TEXT_DATASETS)
        name = st.selectbox("Built-in dataset", names, index=names.index("fashion-mnist"), key=f"{key}_builtin")
        return DatasetChoice(name, name)
    if source == SERVER_FOLDER:
        path = st.text_input(
            "Folder path (one sub-folder per class, or a .zip of one; text: also a .csv, .tsv or .jsonl)",
            key=f"{key}_path",
        ).strip()
        if not path:
            return None
        try:
            if is_text_dataset(path):
                check_text_source(path)
            else:
                check_source(path)
        except BenchInputError as error:
            st.error(str(error), icon=":material/warning:")
            return None
        return DatasetChoice(path, Path(path).name or path)
    upload = st.file_uploader(
        f"Zip of a folder with one sub-folder per class, or a text table (.csv, .tsv, .jsonl; at most {MAX_UPLOAD_MB} MB)",
        type=["zip", "csv", "tsv", "jsonl"],
        key=f"{key}_zip",
    )
    if upload is None:
        return None
    if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
        st.error(
            f"{upload.name}: {upload.size / 1e6:.0f} MB is over the {MAX_UPLOAD_MB} MB upload limit",
            icon=":material/warning:",
        )
        return None
    data = upload.getvalue()
    suffix = Path(upload.name).suffix.lower()
    if suffix in (".csv", ".tsv", ".jsonl"):
        return DatasetChoice(save_upload(data, suffix), upload.name)
    if not upload.name.lower().endswith(".zip") or not zipfile.is_zipfile(io.BytesIO(data)):
        st.error(
            f"{upload.name}: not a .zip archive. Upload a .zip of a folder with one sub-folder of images per class.",
            icon=":material/warning:",
        )
        return None
    return DatasetChoice(save_upload(data), upload.name)


def save_upload(data: bytes, suffix: str = ".zip") -> str:
    """Keep an upload under the run store's folder, named by its content (the same file is stored once)."""
    folder = default_db_path().parent / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    if not target.exists():
        target.write_bytes(data)
    return str(target)
