"""This process's garbage-collector state, as both the experiment and the agent report it: the
figures (counts, thresholds, collections, the frozen count read only when it can have changed),
and the log of collections that gc.callbacks (CPython) or gc.hooks (PyPy) see."""
import gc
import platform
import time

IS_PYPY = platform.python_implementation() == "PyPy"
FREEZE_SUPPORTED = hasattr(gc, "freeze")
THRESHOLD_SUPPORTED = hasattr(gc, "set_threshold")
SERVED = [0]  # requests served by this worker: where its collections fall


def collections():
    """Collections per generation so far (CPython), or None."""
    if hasattr(gc, "get_stats") and not IS_PYPY:
        return [s.get("collections", 0) for s in gc.get_stats()]
    return None


class FrozenCount(object):
    """gc.get_freeze_count(), read only when it may have changed. CPython counts the permanent
    generation by walking it (gc_list_size, 3.7-3.13): ~30 ms for 4,000,000 frozen objects, at
    every report of every process, and 16 times in a row as a worker settles after its fork. The
    count changes only with gc.freeze() and gc.unfreeze() (a collection never touches the
    permanent generation), and a fork copies it as it is. exact: the owner (the experiment) calls
    refresh() after each of its own freeze and unfreeze, before it forks, so its workers inherit
    a count that is right and never walk. Otherwise (the agent in someone's server, who may call
    them at any time) it is walked again once it is older than MAX_AGE, or than COST_FACTOR times
    its last walk if that is sooner: a cheap count stays all but exact, a dear one costs one walk
    per 5 s (22 ms for 4,000,000 objects here: 0.4% of a core, against 2.4% read at every
    report), and the count is never more than 5 s old, the bound cowtop keeps for every figure."""
    MAX_AGE = 5.0
    COST_FACTOR = 1000

    def __init__(self):
        self.supported = hasattr(gc, "get_freeze_count")
        self.value = None
        self.read_at = None  # time.monotonic() of the last walk
        self.cost = 0.0
        self.exact = False

    def refresh(self):
        if not self.supported:
            return None
        started = time.perf_counter()
        self.value = gc.get_freeze_count()
        self.cost = time.perf_counter() - started
        self.read_at = time.monotonic()
        return self.value

    def changed(self):
        """After a freeze or unfreeze of one's own: walked again at the next read, not up to 5 s later."""
        self.read_at = None

    def get(self):
        if self.read_at is None:
            return self.refresh()
        if self.exact:
            return self.value  # no write: a worker's page of this object stays shared
        if time.monotonic() - self.read_at >= min(self.MAX_AGE, self.cost * self.COST_FACTOR):
            return self.refresh()
        return self.value


FROZEN = FrozenCount()


def gc_state(at_fork=None):
    """The gc figures of this process, read without touching any shared object. at_fork: the
    collections a worker inherited from its parent, so that it can say how many are its own."""
    state = {"enabled": gc.isenabled()}
    if hasattr(gc, "get_count"):
        state["counts"] = list(gc.get_count())
    else:
        state["counts"] = None
    if hasattr(gc, "get_threshold"):
        state["threshold"] = list(gc.get_threshold())
    stats = None
    if hasattr(gc, "get_stats") and not IS_PYPY:
        stats = [{"collections": s.get("collections", 0), "collected": s.get("collected", 0),
                  "uncollectable": s.get("uncollectable", 0)} for s in gc.get_stats()]
    state["stats"] = stats
    state["frozen"] = FROZEN.get()
    if at_fork is not None and stats is not None:
        state["sinceFork"] = [s["collections"] - b for s, b in zip(stats, at_fork)]
    return state


class CollectionLog(object):
    """Records each collection from gc.callbacks (CPython) or gc.hooks (PyPy) into a small
    buffer; the worker loop flushes it, so the callback itself does no I/O."""

    def __init__(self):
        self.pending = []
        self.last = None  # the last collection, for the agent's file
        self.started = None
        self.explicit = False  # inside a gc.collect() someone asked for
        self.full = 0  # automatic full collections: count, seconds, requests served at the first
        self.full_seconds = 0.0
        self.first_full = None
        self.pypy_counts = [0, 0, 0]  # minor, major steps, major collections (PyPy)
        self.pypy_minor_seconds = 0.0
        self.pypy_step_seconds = 0.0  # steps of the major collection under way

    def install(self):
        if hasattr(gc, "callbacks"):
            gc.callbacks.append(self.on_gc)
        elif hasattr(gc, "hooks"):
            gc.hooks.on_gc_minor = self.on_pypy_minor
            gc.hooks.on_gc_collect_step = self.on_pypy_step
            gc.hooks.on_gc_collect = self.on_pypy_collect

    def on_gc(self, phase, info):
        if phase == "start":
            self.started = time.perf_counter()
            return
        duration = time.perf_counter() - self.started if self.started is not None else None
        if info.get("generation") == 2 and not self.explicit:
            self.count_full(duration)
        self.last = {"generation": info.get("generation"), "duration": duration,
                     "collected": info.get("collected", 0), "uncollectable": info.get("uncollectable", 0),
                     "at": time.time()}
        if len(self.pending) < 1000:
            self.pending.append({k: v for k, v in self.last.items() if k != "at"})

    def count_full(self, duration):
        self.full += 1
        self.full_seconds += duration or 0.0
        if self.first_full is None:
            self.first_full = SERVED[0]

    def on_pypy_minor(self, stats):
        self.pypy_counts[0] += stats.count
        self.pypy_minor_seconds += stats.duration

    def on_pypy_step(self, stats):
        self.pypy_counts[1] += stats.count
        self.pypy_step_seconds += stats.duration

    def on_pypy_collect(self, stats):
        # A major collection is done: its work was in the steps (gc-collect-done has no duration).
        self.pypy_counts[2] += stats.count
        if not self.explicit:
            self.count_full(self.pypy_step_seconds)
        self.last = {"generation": 2, "duration": self.pypy_step_seconds, "collected": None,
                     "uncollectable": None, "at": time.time()}
        if len(self.pending) < 1000:
            self.pending.append({k: v for k, v in self.last.items() if k != "at"})
        self.pypy_step_seconds = 0.0

    def take(self):
        out, self.pending = self.pending, []
        return out
