"""cowtop's gc agent: publishes this process's garbage-collector state for `cowtop attach`.

Enable it with one line, before the server forks its workers:

    import cowtop_agent; cowtop_agent.enable()

(in a gunicorn config file, a Celery or uWSGI start-up module), or without touching the code:
put the directory `cowtop agent --path` prints on PYTHONPATH and set COWTOP_AGENT=1.

Every process (the master and each forked worker: the agent follows os.fork) writes one small
JSON file, <dir>/<pid>.json, once a second from a daemon thread, where <dir> is
$COWTOP_AGENT_DIR or /tmp/cowtop-agent-<uid> (created 0700; files 0600). Nothing waits for
cowtop: if it is absent, slow or restarted, the files are simply rewritten. Every error is
swallowed: the agent must never be why the application fails.

Standard library only; CPython >= 3.7 (PyPy: counts from gc.hooks where they exist).
"""

import gc
import json
import os
import sys
import threading
import time

__all__ = ["enable", "disable", "directory", "post_fork", "when_ready"]

_state = {
    "enabled": False,
    "interval": 1.0,
    "dir": None,
    "thread": None,
    "stop": None,
    "last": None,  # last collection: generation, duration (s), collected
    "started": None,
    "pid": None,
}


def directory():
    """Where the agent writes: $COWTOP_AGENT_DIR, or /tmp/cowtop-agent-<uid>."""
    return os.environ.get("COWTOP_AGENT_DIR") or "/tmp/cowtop-agent-%d" % os.getuid()


def _private_dir(path):
    """Creates the directory 0700, and refuses one that another user owns or others can read."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.stat(path)
        if st.st_uid != os.getuid() or (st.st_mode & 0o077):
            return None
        return path
    except OSError:
        return None


def _starttime():
    # Field 22 of /proc/self/stat, split after the last ')': tells this process from a later
    # one that reuses its pid.
    try:
        with open("/proc/self/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except Exception:
        return None


def _on_gc(phase, info):
    try:
        if phase == "start":
            _state["started"] = time.perf_counter()
        elif _state["started"] is not None:
            _state["last"] = {"generation": info.get("generation"),
                              "duration": time.perf_counter() - _state["started"],
                              "collected": info.get("collected"),
                              "uncollectable": info.get("uncollectable"),
                              "at": time.time()}
    except Exception:
        pass


def _snapshot():
    s = {"pid": os.getpid(), "starttime": _state["starttime"], "t": time.time(),
         "implementation": sys.implementation.name, "version": "%d.%d.%d" % sys.version_info[:3],
         "enabled": gc.isenabled(),
         "counts": list(gc.get_count()) if hasattr(gc, "get_count") else None,
         "threshold": list(gc.get_threshold()) if hasattr(gc, "get_threshold") else None,
         "frozen": gc.get_freeze_count() if hasattr(gc, "get_freeze_count") else None,
         "stats": None, "last": _state["last"]}
    if hasattr(gc, "get_stats") and sys.implementation.name == "cpython":
        s["stats"] = [{"collections": g.get("collections", 0), "collected": g.get("collected", 0),
                       "uncollectable": g.get("uncollectable", 0)} for g in gc.get_stats()]
    return s


def _write():
    d = _state["dir"]
    if d is None:
        return
    pid = os.getpid()
    path = os.path.join(d, "%d.json" % pid)
    tmp = os.path.join(d, ".%d.tmp" % pid)
    data = json.dumps(_snapshot(), separators=(",", ":")).encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)  # readers never see half a file


def _loop(stop):
    while not stop.wait(_state["interval"]):
        try:
            _write()
        except Exception:
            pass


def _start_thread():
    _state["pid"] = os.getpid()
    _state["starttime"] = _starttime()
    stop = threading.Event()
    t = threading.Thread(target=_loop, args=(stop,), name="cowtop-agent", daemon=True)
    _state["stop"] = stop
    _state["thread"] = t
    try:
        _write()
    except Exception:
        pass
    t.start()


def _after_fork_in_child():
    # Threads do not survive fork: the worker gets its own writer, and its own file.
    if _state["enabled"]:
        _state["last"] = None
        _start_thread()


def _cleanup():
    try:
        if _state["dir"] and _state["pid"] == os.getpid():
            os.unlink(os.path.join(_state["dir"], "%d.json" % os.getpid()))
    except Exception:
        pass


def enable(interval=None):
    """Starts publishing. Safe to call more than once, and in a process that will fork."""
    try:
        if _state["enabled"]:
            return True
        _state["interval"] = float(interval or os.environ.get("COWTOP_AGENT_INTERVAL") or 1.0)
        _state["dir"] = _private_dir(directory())
        if _state["dir"] is None:
            return False
        if hasattr(gc, "callbacks"):
            gc.callbacks.append(_on_gc)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
        import atexit
        atexit.register(_cleanup)
        _state["enabled"] = True
        _start_thread()
        return True
    except Exception:
        return False


def disable():
    _state["enabled"] = False
    if _state["stop"] is not None:
        _state["stop"].set()
    _cleanup()


# gunicorn hooks, for configs that prefer to name them: post_fork = cowtop_agent.post_fork
def post_fork(server=None, worker=None):
    enable()


def when_ready(server=None):
    enable()


if os.environ.get("COWTOP_AGENT") == "1":
    enable()
