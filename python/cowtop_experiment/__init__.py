"""cowtop's fork experiment, run as `python -m cowtop_experiment` (see __main__.py). gc_state.py
is shared with the gc agent; nothing here runs on import."""
