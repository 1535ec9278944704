"""Loads cowtop's gc agent when COWTOP_AGENT=1, for applications started without code changes:

    PYTHONPATH=$(cowtop agent --path)/autoload:$(cowtop agent --path) COWTOP_AGENT=1 gunicorn ...

Then runs the sitecustomize this one shadows (Debian ships one), so nothing else changes.
"""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))

try:
    if os.environ.get("COWTOP_AGENT") == "1":
        sys.path.insert(0, os.path.dirname(_here))
        import cowtop_agent  # noqa: F401  (enables itself from the environment)
except Exception:
    pass

# Chain to the next sitecustomize on the path, if there is one.
try:
    import importlib.machinery
    import importlib.util
    _rest = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    _spec = importlib.machinery.PathFinder.find_spec("sitecustomize", _rest)
    if _spec is not None and _spec.origin and os.path.dirname(os.path.abspath(_spec.origin)) != _here:
        _mod = importlib.util.module_from_spec(_spec)
        _spec.loader.exec_module(_mod)
except Exception:
    pass
