"""Where the benchmark keeps caches (features, extracted zips). Configurable by environment."""

from __future__ import annotations

import os
from pathlib import Path

from bench.errors import BenchInputError


def cache_dir() -> Path:
    """``$FOS_CACHE_DIR``, else ``$XDG_CACHE_HOME/finetune-or-scratch``, else ``~/.cache/finetune-or-scratch``.

    The folder is created if missing; one that cannot be (a file of that name, no permission) is a
    :class:`BenchInputError` naming the variable it came from.
    """
    if os.environ.get("FOS_CACHE_DIR"):
        root, source = Path(os.environ["FOS_CACHE_DIR"]), "FOS_CACHE_DIR"
    elif os.environ.get("XDG_CACHE_HOME"):
        root, source = Path(os.environ["XDG_CACHE_HOME"]) / "finetune-or-scratch", "XDG_CACHE_HOME"
    else:
        root, source = Path.home() / ".cache" / "finetune-or-scratch", "the default cache folder"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as error:
        reason = (
            "a file of that name is in the way"
            if isinstance(error, FileExistsError | NotADirectoryError)
            else (getattr(error, "strerror", None) or str(error))
        )
        raise BenchInputError(
            f"{source}: {root} cannot be used as the cache folder ({reason}); set FOS_CACHE_DIR to a writable folder"
        ) from None
    return root
