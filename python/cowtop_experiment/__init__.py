"""cowtop's fork experiment, run as `python -m cowtop_experiment` (see __main__.py). report.py is
shared with the gc agent; nothing here runs on import."""
