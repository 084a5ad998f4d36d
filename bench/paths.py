"""Where the benchmark keeps caches (features, extracted zips). Configurable by environment."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$FOS_CACHE_DIR``, else ``$XDG_CACHE_HOME/finetune-or-scratch``, else ``~/.cache/finetune-or-scratch``."""
    if os.environ.get("FOS_CACHE_DIR"):
        root = Path(os.environ["FOS_CACHE_DIR"])
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "finetune-or-scratch"
    root.mkdir(parents=True, exist_ok=True)
    return root
