"""The demo class: a synthetic hand-in export (regenerate with make_demo.py)."""
