"""Widgets shared by pages: turning a dataset choice into a name or path the engine accepts."""

from __future__ import annotations

import hashlib
import os

import streamlit as st

from bench.data.catalog import DATASETS
from bench.runs.store import default_db_path

# Upload limit in MB (the server's own limit is .streamlit/config.toml's maxUploadSize).
MAX_UPLOAD_MB = int(os.environ.get("FOS_MAX_UPLOAD_MB", "200"))


def dataset_picker(key: str) -> str | None:
    """A built-in dataset, an uploaded .zip of class folders, or a folder on the server; None until chosen."""
    kind = st.radio(
        "Dataset", ["Built-in", "Upload a .zip", "Folder on the server"], horizontal=True, key=f"{key}_kind"
    )
    if kind == "Built-in":
        names = [name for name, spec in DATASETS.items() if spec.available()]
        return st.selectbox("Built-in dataset", names, index=names.index("fashion-mnist"), key=f"{key}_builtin")
    if kind == "Folder on the server":
        path = st.text_input("Folder path (one sub-folder per class)", key=f"{key}_path").strip()
        return path or None
    upload = st.file_uploader(
        f"Zip of a folder with one sub-folder per class (at most {MAX_UPLOAD_MB} MB)", type=["zip"], key=f"{key}_zip"
    )
    if upload is None:
        return None
    if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
        st.error(
            f"{upload.name}: {upload.size / 1e6:.0f} MB is over the {MAX_UPLOAD_MB} MB upload limit (FOS_MAX_UPLOAD_MB)"
        )
        return None
    data = upload.getvalue()
    folder = default_db_path().parent / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(data).hexdigest()[:16]}.zip"
    if not target.exists():
        target.write_bytes(data)
    return str(target)
