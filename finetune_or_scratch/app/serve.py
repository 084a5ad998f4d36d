"""Start the app's Streamlit server with the first pages' modules already imported.

Streamlit imports nothing of the app until the first visit runs the script, so that visit paid for
importing the questionnaire's and the recommendation's modules (the advisor, pandas, Altair) before
anything was drawn. Imported here, before the server listens, they are already in ``sys.modules``
when the first visit's script runs: the time moves to start-up, which nobody watches a blank page for.
Only light modules are imported (the page tests hold them to no torch, timm or data stack); the run
and model modules still load when a run or an estimate needs them.

    python -m finetune_or_scratch.app.serve SCRIPT [streamlit run options]
"""

from __future__ import annotations

import importlib
import sys

# What the default page and the recommendation import on a first visit (navigation, pages, views).
FIRST_PAGES = (
    "finetune_or_scratch.app.navigation",
    "finetune_or_scratch.app.widgets",
    "finetune_or_scratch.app.views",
    "finetune_or_scratch.reports.words",
    "advisor",
)


def preload() -> None:
    for name in FIRST_PAGES:
        importlib.import_module(name)


def main(argv: list[str] | None = None) -> int:
    preload()
    from streamlit.web import cli

    return cli.main(args=["run", *(sys.argv[1:] if argv is None else argv)], prog_name="streamlit")


if __name__ == "__main__":
    sys.exit(main())
