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

The directory sits in /tmp, where other users can create names first. The agent opens it once,
without following a link, and writes only through that descriptor (O_EXCL | O_NOFOLLOW, then a
rename inside it), checking before each write that it is still this user's private directory:
a directory that was deleted and re-created by someone else is refused, never written into.
Files of processes that are gone (os._exit skips atexit) are swept away from time to time.

Standard library only; CPython >= 3.7 (PyPy: counts from gc.hooks where they exist).
"""

import gc
import json
import os
import stat
import sys
import threading
import time

try:  # the gc figures, read by the same code as the experiment's: the package beside this file
    from cowtop_experiment.gc_state import CollectionLog, gc_state

    _LOG = CollectionLog()
except ImportError:
    _LOG = None

__all__ = ["enable", "disable", "directory", "post_fork", "when_ready", "apply_freeze_recipe"]

_state = {
    "enabled": False,
    "interval": 1.0,
    "thread": None,
    "stop": None,
    "pid": None,
    "dirfd": None,
    "writes": 0,
}

MIN_INTERVAL = 0.1  # COWTOP_AGENT_INTERVAL=0 must not busy-loop the writer thread
MAX_INTERVAL = 3600.0
SWEEP_EVERY = 30  # writes between two sweeps of files left by processes that are gone
READ_CAP = 65536


def directory():
    """Where the agent writes: $COWTOP_AGENT_DIR, or /tmp/cowtop-agent-<uid>."""
    return os.environ.get("COWTOP_AGENT_DIR") or "/tmp/cowtop-agent-%d" % os.getuid()


def _dir_ok(fd):
    """This user's private directory, still linked (not deleted from under us)."""
    st = os.fstat(fd)
    return (stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not (st.st_mode & 0o077)
            and st.st_nlink > 0)


def _open_dir(path):
    """Creates the directory 0700 if needed and opens it without following a link; refuses one
    that another user owns or others can use. Returns its descriptor, or None."""
    if not (os.open in os.supports_dir_fd and os.rename in os.supports_dir_fd):
        return None  # no safe way to write into it on this platform
    try:
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        if _dir_ok(fd):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _interval(value):
    try:
        v = float(value)
    except (TypeError, ValueError):
        return 1.0
    if v != v:  # NaN
        return 1.0
    return min(MAX_INTERVAL, max(MIN_INTERVAL, v))


def _starttime():
    # Field 22 of /proc/self/stat, split after the last ')': tells this process from a later
    # one that reuses its pid.
    try:
        with open("/proc/self/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except Exception:
        return None


def _snapshot():
    s = {"pid": os.getpid(), "starttime": _state["starttime"], "t": time.time(), "interval": _state["interval"],
         "implementation": sys.implementation.name, "version": "%d.%d.%d" % sys.version_info[:3],
         "last": _LOG.last if _LOG else None}
    # The same figures the experiment reports, read by the same code. at_fork: in a forked worker,
    # its own collections are counted apart from its master's history.
    s.update(gc_state(_state.get("at_fork")))
    return s


def _dirfd():
    """The directory to write into, checked again now; re-opened once it is no longer ours."""
    fd = _state["dirfd"]
    if fd is not None:
        try:
            if _dir_ok(fd):
                return fd
        except OSError:
            pass
        _state["dirfd"] = None
        try:
            os.close(fd)
        except OSError:
            pass
    fd = _open_dir(directory())
    _state["dirfd"] = fd
    return fd


def _write():
    fd = _dirfd()
    if fd is None:
        return
    pid = os.getpid()
    name = "%d.json" % pid
    tmp = ".%d.tmp" % pid
    data = json.dumps(_snapshot(), separators=(",", ":")).encode()
    _LOG.take()  # only the last collection is published: the log is not kept
    try:
        os.unlink(tmp, dir_fd=fd)  # a leftover of ours, or a name someone else put there
    except FileNotFoundError:
        pass
    out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=fd)
    try:
        os.write(out, data)
    finally:
        os.close(out)
    os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)  # readers never see half a file
    _state["writes"] += 1
    if _state["writes"] % SWEEP_EVERY == 1:
        _sweep(fd)


def _proc_starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except FileNotFoundError:
        return None
    except Exception:
        return -1  # cannot tell: treat as alive


def _file_starttime(fd, name):
    try:
        f = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(f).st_mode):
            return None
        return json.loads(os.read(f, READ_CAP).decode("utf-8", "replace")).get("starttime")
    except Exception:
        return None
    finally:
        os.close(f)


def _sweep(fd):
    """Removes the files of processes that are gone, or whose pid a newer process took:
    children that leave by os._exit (multiprocessing, Celery prefork) never run atexit."""
    try:
        names = os.listdir(fd)
    except OSError:
        return
    me = os.getpid()
    for name in names:
        base = name[1:] if name.startswith(".") else name
        num, _, ext = base.partition(".")
        if not num.isdigit() or ext not in ("json", "tmp") or int(num) == me:
            continue
        pid = int(num)
        now = _proc_starttime(pid)
        if now is None and os.path.isdir("/proc/self"):
            stale = True
        elif now is None:
            try:
                os.kill(pid, 0)
                stale = False
            except ProcessLookupError:
                stale = True
            except OSError:
                stale = False
        elif now == -1 or ext == "tmp":
            stale = False
        else:
            then = _file_starttime(fd, name)
            stale = then is not None and then != now
        if stale:
            try:
                os.unlink(name, dir_fd=fd)
            except OSError:
                pass


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
        _LOG.last = None
        try:
            _state["at_fork"] = [g.get("collections", 0) for g in gc.get_stats()] if sys.implementation.name == "cpython" else None
        except Exception:
            _state["at_fork"] = None
        # Spread the sweeps of a tree's workers over time instead of all at once.
        _state["writes"] = os.getpid() % SWEEP_EVERY
        _start_thread()


def _cleanup():
    try:
        fd = _state["dirfd"]
        if fd is not None and _state["pid"] == os.getpid() and _dir_ok(fd):
            os.unlink("%d.json" % os.getpid(), dir_fd=fd)
    except Exception:
        pass


def enable(interval=None):
    """Starts publishing. Safe to call more than once, and in a process that will fork."""
    try:
        if _state["enabled"]:
            return True
        _state["interval"] = _interval(interval or os.environ.get("COWTOP_AGENT_INTERVAL") or 1.0)
        _state["dirfd"] = _open_dir(directory())
        if _state["dirfd"] is None:
            return False
        if _LOG is None:
            return False  # the package is not beside the agent: nothing to read gc with
        _LOG.install()
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


def apply_freeze_recipe():
    """Instagram's recipe in this process (cowtop_run.apply_freeze_recipe): for a server that
    wants it without cowtop run."""
    import cowtop_run
    return cowtop_run.apply_freeze_recipe()


if os.environ.get("COWTOP_FREEZE") or os.environ.get("COWTOP_RUN_WATCH_FD"):
    try:
        import cowtop_run

        cowtop_run.run_hooks()
    except Exception:
        pass
if os.environ.get("COWTOP_AGENT") == "1":
    enable()
