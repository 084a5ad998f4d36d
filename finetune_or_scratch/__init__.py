"""Fine-tune or scratch? The command line (``finetune-or-scratch``), the Streamlit app and the reports.

``advisor`` (pure advice) and ``bench`` (real training runs) are the two engines; this package
sits above both and is the only one that knows about either's presentation.
"""
