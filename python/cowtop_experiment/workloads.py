"""What a worker does between reports, and the gc strategies it can run under. A workload has
run(now) -> seconds until it wants to run again; add one by subclassing Workload and naming it
in WORKLOADS."""
import gc
import os
import platform
import signal
import time

from .gc_state import FREEZE_SUPPORTED, SERVED, THRESHOLD_SUPPORTED


# ---------------------------------------------------------------- gc strategies
# The road Instagram took, one step each: the interpreter's own thresholds, gc.disable() (until
# some library calls gc.enable()), larger thresholds, and gc.freeze() before fork.

def parse_strategy(spec):
    """'default' | 'disable' | 'freeze' | 'threshold:N[,N1,N2]' -> (name, thresholds or None)."""
    name, _, rest = spec.partition(":")
    if name in ("default", "disable", "freeze") and not rest:
        return name, None
    if name == "threshold" and rest:
        values = [int(x) for x in rest.split(",")]
        if 1 <= len(values) <= 3 and all(v >= 1 for v in values):
            return name, values
    raise ValueError("unknown gc strategy %r" % spec)


def strategy_spec(name, thresholds):
    return name if thresholds is None else "%s:%s" % (name, ",".join(str(t) for t in thresholds))


def unsupported(name):
    """Why a strategy cannot run in this interpreter, or None."""
    if name == "freeze" and not FREEZE_SUPPORTED:
        return "%s has no gc.freeze()" % platform.python_implementation()
    if name == "threshold" and not THRESHOLD_SUPPORTED:
        return ("%s has no gc.set_threshold(): its major collections follow PYPY_GC_MAJOR_COLLECT, "
                "fixed when the interpreter starts" % platform.python_implementation())
    return None


# Modules a real server would import before forking; their objects are shared too.
SHARED_MODULES = ["json", "email", "email.message", "http.client", "decimal", "asyncio",
                  "xml.etree.ElementTree", "sqlite3", "urllib.request", "logging", "csv"]
OPTIONAL_MODULES = ["flask", "django", "requests", "sqlalchemy"]


# A workload is what a worker does between reports. Each has run(now) -> seconds until it wants
# to run again. Add one by subclassing Workload and naming it in WORKLOADS.

class Workload(object):
    name = "?"

    def __init__(self, options):
        self.options = options

    def run(self, now):
        return 3600.0


class Idle(Workload):
    """Does nothing: the worker only reports and answers commands."""
    name = "idle"


class Periodic(Workload):
    """Does act() every --collect-every seconds."""

    def __init__(self, options):
        Workload.__init__(self, options)
        self.every = options.collect_every
        self.next_at = time.monotonic() + self.every
        self.data = None  # the shared records, for the workloads that touch them

    def act(self):
        pass

    def run(self, now):
        if now >= self.next_at:
            self.act()
            self.next_at = now + self.every
        return max(0.0, self.next_at - now)


class Collect(Periodic):
    """gc.collect() every --collect-every seconds: a full collection scans every tracked object."""
    name = "collect"

    def act(self):
        gc.collect()


# --enabler S: the third-party library of the story, calling gc.enable() S seconds after fork.
# Checked by the worker loop and between requests, so it fires in the middle of a long act().
ENABLER = {"at": None, "forked": 0.0, "report": None}


def check_enabler():
    at = ENABLER["at"]
    if at is None or time.monotonic() < at:
        return
    ENABLER["at"] = None
    if ENABLER.get("ack"):
        # compare --strategies measures what was copied *before* gc.enable(): it is told first and
        # answers with SIGCONT once it has read the pages (5 s at most, then we go on anyway).
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCONT])
        ENABLER["report"]({"type": "enabling", "pid": os.getpid(), "after": time.monotonic() - ENABLER["forked"],
                           "served": SERVED[0]})
        try:
            signal.sigtimedwait([signal.SIGCONT], 5.0)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCONT])
    gc.enable()
    ENABLER["report"]({"type": "enabled", "pid": os.getpid(), "after": time.monotonic() - ENABLER["forked"],
                       "served": SERVED[0]})


class Serve(Workload):
    """Request-like work and no explicit gc.collect(): each request makes temporary dicts (freed
    at once), one small reference cycle (garbage only the collector can free: with gc disabled
    it is kept), and leaves one small list in a cache that keeps growing, about 3,000 a second.
    The gc counts allocations minus deallocations, so only what outlives a request moves it: the
    interpreter's own thresholds then run collections of all three generations, a full one
    once the objects that survived since the last exceed 25% of the long-lived ones.
    With --requests N (compare --strategies) it serves nothing on its own: act() serves N
    requests as fast as it can, the same number under every strategy."""
    name = "serve"
    BATCH = 30  # requests per turn, a turn every 10 ms
    TEMPS = 50  # temporary dicts per request
    CACHE_MAX = 1000000  # entries (~80 MB); then the cache starts over

    def __init__(self, options):
        Workload.__init__(self, options)
        self.cache = []

    def serve(self, count):
        for k in range(count):
            if k % 1000 == 0:
                check_enabler()
            SERVED[0] += 1
            temps = [{"request": SERVED[0], "field": [i]} for i in range(self.TEMPS)]
            loop = {"request": SERVED[0]}
            loop["self"] = loop  # a cycle: refcounting never frees it
            self.cache.append([temps[-1]["request"]])
        if len(self.cache) >= self.CACHE_MAX:
            self.cache = []

    def act(self):
        self.serve(self.options.requests or 100000)

    def run(self, now):
        if self.options.requests:
            return 3600.0
        self.serve(self.BATCH)
        return 0.01


class Read(Periodic):
    """Walks the shared data every --collect-every seconds, only reading it. Reading still writes
    refcounts, so the pages are copied even with gc.freeze(): the limit of freezing."""
    name = "read"

    def act(self):
        total = 0
        for r in self.data:
            total += len(r.tags)


class Write(Periodic):
    """Mutates every shared record every --collect-every seconds: every page is copied, freeze
    or not. The upper bound of what a worker can cost."""
    name = "write"

    def act(self):
        for r in self.data:
            r.tags[0] = r.id


WORKLOADS = {w.name: w for w in (Idle, Collect, Serve, Read, Write)}
