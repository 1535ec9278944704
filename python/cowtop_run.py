"""What `cowtop run` asks of the server's process: Instagram's freeze recipe, and the watch that
stops everything cowtop started when cowtop itself is gone (even by SIGKILL). The agent runs
run_hooks() at import when cowtop run set COWTOP_FREEZE or COWTOP_RUN_WATCH_FD.

Standard library only; the freeze recipe needs CPython >= 3.7 (gc.freeze, os.register_at_fork).
"""
import gc
import os
import sys
import threading
import time

from cowtop_experiment.gc_state import FROZEN

MIN_GRACE = 0.1
MAX_GRACE = 3600.0


def _grace(value):
    try:
        v = float(value)
    except (TypeError, ValueError):
        return 10.0
    if v != v:  # NaN
        return 10.0
    return min(MAX_GRACE, max(MIN_GRACE, v))


def _frozen_changed():
    # The frozen count is kept between reports (gc_state.FrozenCount: counting walks the frozen
    # objects); after our own freeze it is read again at the next report.
    FROZEN.changed()


def _freeze_before_fork():
    gc.freeze()
    _frozen_changed()


def _freeze_in_child():
    # The recipe's child half. gc.freeze() here too (it is O(1): it links the generation lists
    # into the permanent one) for servers whose fork skips the before-fork hooks (uWSGI before
    # 2.0.21 runs only the child's, through py-call-osafterfork): nothing the child collects was
    # inherited.
    try:
        gc.freeze()
        _frozen_changed()
        gc.enable()
    except Exception:
        pass


def apply_freeze_recipe():
    """Instagram's recipe, for `cowtop run --freeze`: gc off in this first process (no
    collection leaves holes that later allocations fill, dirtying pages), gc.freeze() right
    before each fork, gc on in each child. The master keeps gc off, as in the recipe."""
    if not (hasattr(gc, "freeze") and hasattr(os, "register_at_fork")):
        return False
    gc.disable()
    os.register_at_fork(before=_freeze_before_fork, after_in_child=_freeze_in_child)
    return True


def _tagged(tag):
    """The other processes of this user whose environment carries cowtop run's tag: what the
    server started, also what left its process group (setsid, a daemon's double fork)."""
    want = ("COWTOP_RUN_ID=%s" % tag).encode()
    me = os.getpid()
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                if want in f.read(1 << 20).split(b"\0"):
                    found.append(int(name))
        except OSError:
            pass
    return found


def _watch(fd, grace):
    # cowtop holds the other end of this pipe: EOF means it is gone, even by SIGKILL. Stop
    # all it started, as it would have: TERM, then KILL after the grace period, to the group and
    # to every process carrying the run's tag outside it.
    import signal
    try:
        while os.read(fd, 64):
            pass
    except OSError:
        pass
    tag = os.environ.get("COWTOP_RUN_ID")
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 0)):
        for pid in _tagged(tag) if tag else ():
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        try:
            os.killpg(os.getpgrp(), sig)
        except OSError:
            pass
        time.sleep(wait)


def _claimed():
    """Whether this process is the server cowtop run started: the first Python process of each
    line of descent claims it (a shell in front is no Python), and keeps it through exec, which
    keeps the pid: a wrapper that execs the server (ddtrace-run, opentelemetry-instrument,
    newrelic-admin run-program, a script ending in os.execvp) hands it on. A worker, or a program
    the server starts, has another pid and applies nothing."""
    me = str(os.getpid())
    claim = os.environ.get("COWTOP_RUN_PID")
    if claim is None:
        os.environ["COWTOP_RUN_PID"] = claim = me
    return claim == me


def run_hooks():
    """Set by `cowtop run`: the freeze recipe and the watch pipe, in the process that forks the
    workers (_claimed). The variables stay in the environment so that an exec reaches them."""
    if not _claimed():
        return
    if os.environ.get("COWTOP_FREEZE") == "1":
        if not (hasattr(gc, "freeze") and hasattr(os, "register_at_fork")):
            # Asked for and impossible here (CPython 3.6, PyPy): the server must not run as if
            # it were frozen. Nothing has started yet; one line says why.
            import platform
            sys.stderr.write("cowtop: run --freeze: %s %s has no gc.freeze() (CPython 3.7+): not started\n"
                             % (platform.python_implementation(), platform.python_version()))
            sys.stderr.flush()
            os._exit(2)
        try:
            apply_freeze_recipe()
        except Exception:
            pass
    fd = os.environ.get("COWTOP_RUN_WATCH_FD")
    if fd is not None and fd.isdigit():
        try:
            os.fstat(int(fd))  # kept open across exec: the pipe is inheritable, as Node gave it
        except OSError:
            return
        grace = _grace(os.environ.get("COWTOP_RUN_GRACE") or 10)
        threading.Thread(target=_watch, args=(int(fd), grace), name="cowtop-watch", daemon=True).start()
