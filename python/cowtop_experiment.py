"""cowtop's fork experiment: a parent builds a heap of GC-tracked objects, forks workers, and
reports what the garbage collector does in each of them.

Standard library only; runs under CPython >= 3.7 and PyPy 3.

Protocol (driven by cowtop, see src/experiment/protocol.ts):
  --report-fd  JSON lines out, one os.write() per line, each line well under 16 KiB so that a
               line from one process is never split by a line from another.
  --command-fd JSON lines in: {"cmd": "collect", "pid": optional}, {"cmd": "refork",
               "freeze": bool, "gc": optional strategy, "workload": optional, "workers": optional},
               {"cmd": "scale", "workers": K}, {"cmd": "interval", "ms": N}, {"cmd": "quit"}.
stdout/stderr are free text; cowtop keeps them as log lines.
"""

import argparse
import gc
import json
import mmap
import os
import struct
import platform
import select
import signal
import sys
import time

MAX_WORKERS = 64


class ReportInterval(object):
    """The gc report interval, in one shared page made before any fork: cowtop's [ and ] change
    it in the parent, and the running workers read it each turn of their loop (no signal, no
    re-fork). One 4 KiB page, the same in every process: nothing that moves the figures."""

    def __init__(self, ms):
        self.page = mmap.mmap(-1, mmap.PAGESIZE)
        self.set(ms)

    def set(self, ms):
        self.page[0:8] = struct.pack("=q", max(100, min(3600000, int(ms))))

    def seconds(self):
        return struct.unpack("=q", self.page[0:8])[0] / 1000.0


INTERVAL = None  # set in main(); workers inherit it with the fork
IS_PYPY = platform.python_implementation() == "PyPy"
FREEZE_SUPPORTED = hasattr(gc, "freeze")
THRESHOLD_SUPPORTED = hasattr(gc, "set_threshold")


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


# ---------------------------------------------------------------- reporting

class Reporter(object):
    """Writes whole JSON lines to the report fd. One write per line: a unix stream socket or a
    pipe queues a small write as one unit, so lines of parent and workers never interleave."""

    def __init__(self, fd):
        self.fd = fd

    def send(self, msg):
        data = (json.dumps(msg, separators=(",", ":")) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
            except InterruptedError:
                continue
            except (BrokenPipeError, OSError):
                # cowtop is gone: nothing left to report to.
                os._exit(0)
            view = view[n:]


def collections():
    """Collections per generation so far (CPython), or None."""
    if hasattr(gc, "get_stats") and not IS_PYPY:
        return [s.get("collections", 0) for s in gc.get_stats()]
    return None


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
    state["frozen"] = gc.get_freeze_count() if hasattr(gc, "get_freeze_count") else None
    if at_fork is not None and stats is not None:
        state["sinceFork"] = [s["collections"] - b for s, b in zip(stats, at_fork)]
    return state


class CollectionLog(object):
    """Records each collection from gc.callbacks (CPython) or gc.hooks (PyPy) into a small
    buffer; the worker loop flushes it, so the callback itself does no I/O."""

    def __init__(self):
        self.pending = []
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
        if len(self.pending) < 1000:
            self.pending.append({"generation": info.get("generation"), "duration": duration,
                                 "collected": info.get("collected", 0),
                                 "uncollectable": info.get("uncollectable", 0)})

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
        if len(self.pending) < 1000:
            self.pending.append({"generation": 2, "duration": self.pypy_step_seconds,
                                 "collected": None, "uncollectable": None})
        self.pypy_step_seconds = 0.0

    def take(self):
        out, self.pending = self.pending, []
        return out


# ---------------------------------------------------------------- workloads
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


SERVED = [0]  # requests served by this worker: where its collections fall

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


# ---------------------------------------------------------------- worker

_flags = {"collect": False, "act": False}


def _on_usr1(signum, frame):
    _flags["collect"] = True


def _on_usr2(signum, frame):
    _flags["act"] = True  # run the workload's act() once now (compare --matrix)


def set_parent_death_signal():
    """Ask the kernel to SIGKILL this worker when its parent dies (Linux). Best effort: the
    worker loop also checks getppid()."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def prefer_as_oom_victim(score):
    """On a shared machine the experiment, not someone's editor, goes first when memory runs out;
    workers before the parent that holds the heap, so a collection that copies too much costs a
    worker and the experiment goes on. Raising one's own score needs no privilege (Linux)."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(score))
    except (OSError, ValueError):
        pass


PARENT_OOM_SCORE = 300
WORKER_OOM_SCORE = 600

STOP_SIGNALS = {signal.SIGTERM, signal.SIGHUP}


def block_stop_signals():
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def unblock_stop_signals():
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def apply_strategy(name, thresholds):
    """In a fresh worker: the gc as the strategy wants it."""
    if name == "disable":
        gc.disable()  # left disabled: only an explicit gc.collect(), or the enabler, runs one
        return
    if name == "threshold" and THRESHOLD_SUPPORTED:
        gc.set_threshold(*thresholds)
    gc.enable()  # the recipe: enabled again in the child (the parent may have disabled it to build)


def worker_main(options, reporter, parent_pid, freeze, data, strategy=("default", None)):
    set_parent_death_signal()
    prefer_as_oom_victim(WORKER_OOM_SCORE)
    if os.getppid() != parent_pid:
        os._exit(0)
    pid = os.getpid()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Blocked by the parent around fork (see fork_workers): a stop request that came in the
    # meantime is pending and now kills us with the default action, as it should.
    unblock_stop_signals()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGUSR1, _on_usr1)

    at_fork = collections()  # the parent's history, which this worker did not run
    log = CollectionLog()
    log.install()
    traced = None
    if options.tracemalloc:
        # Started after fork: it counts what this worker allocates itself, and nothing the
        # collector copies. USS growing while this stays flat is pages copied, not objects made.
        try:
            import tracemalloc
            tracemalloc.start()
            traced = tracemalloc
        except Exception:
            traced = None
    apply_strategy(*strategy)
    ENABLER["forked"] = time.monotonic()
    ENABLER["at"] = ENABLER["forked"] + options.enabler if strategy[0] == "disable" and options.enabler else None
    ENABLER["ack"] = options.enabler_ack
    ENABLER["report"] = reporter.send
    workload = WORKLOADS[options.workload](options)
    if isinstance(workload, Periodic):
        workload.data = data  # only read and write use it; collect and the reports never do
    next_report = time.monotonic()
    last_report = next_report

    def report(explicit=False):
        for c in log.take():
            c.update({"type": "collection", "pid": pid, "explicit": explicit})
            reporter.send(c)
        msg = {"type": "gc", "pid": pid}
        msg.update(gc_state(at_fork))
        if traced is not None:
            msg["traced"] = list(traced.get_traced_memory())  # current, peak (bytes)
        if IS_PYPY:
            msg["pypy"] = {"minor": log.pypy_counts[0], "majorSteps": log.pypy_counts[1],
                           "major": log.pypy_counts[2], "minorSeconds": log.pypy_minor_seconds}
            try:
                st = gc.get_stats()  # PyPy's memory view of its own heap
                msg["pypy"]["gcMemory"] = int(st._s.total_gc_memory)
                msg["pypy"]["allocatedMemory"] = int(st._s.total_allocated_memory)
            except Exception:
                pass
        reporter.send(msg)

    while True:
        now = time.monotonic()
        interval = INTERVAL.seconds()
        next_report = min(next_report, last_report + interval)  # ] made it shorter: report sooner
        check_enabler()
        if _flags["collect"]:
            _flags["collect"] = False
            started = time.perf_counter()
            log.explicit = True
            gc.collect()
            log.explicit = False
            seconds = time.perf_counter() - started
            report(explicit=True)
            reporter.send({"type": "collected", "pid": pid, "seconds": seconds})
            next_report = now + interval
        if _flags["act"]:
            _flags["act"] = False
            started = time.perf_counter()
            served, full, full_seconds = SERVED[0], log.full, log.full_seconds
            log.first_full = None
            if hasattr(workload, "act"):
                workload.act()
            seconds = time.perf_counter() - started
            report(explicit=True)
            reporter.send({"type": "acted", "pid": pid, "seconds": seconds, "requests": SERVED[0] - served,
                           "full": log.full - full, "fullSeconds": log.full_seconds - full_seconds,
                           "firstFull": None if log.first_full is None else log.first_full - served})
            next_report = now + interval
        wait_workload = workload.run(now)
        now = time.monotonic()
        if now >= next_report:
            report()
            last_report = now
            next_report = now + interval
        if os.getppid() != parent_pid:
            os._exit(0)
        # At most 1 s asleep: a new interval is taken up within a second.
        timeout = max(0.0, min(wait_workload, next_report - now, 1.0))
        if ENABLER["at"] is not None:
            timeout = max(0.0, min(timeout, ENABLER["at"] - now))
        try:
            ready, _, _ = select.select([wake_r], [], [], timeout)
        except InterruptedError:
            ready = []
        if ready:
            try:
                os.read(wake_r, 512)
            except OSError:
                pass


# ---------------------------------------------------------------- parent

class Record(object):
    """One shared object: a small record that holds a list, as a server's caches and models do.
    Both the record and its list are tracked by the gc, and they make up most of the heap's
    bytes, so a full collection in a worker writes into most of the heap's pages."""
    __slots__ = ("id", "tags")

    def __init__(self, i):
        self.id = i
        self.tags = [i]


KIND_STRIDE = 16
KIND_CHUNK = 500


def object_pages(objects, stride):
    """page number -> how many of the objects (every stride-th) start on it."""
    pages = {}
    for i, o in enumerate(objects):
        if i % stride:
            continue
        page = id(o) >> 12
        pages[page] = pages.get(page, 0) + 1
    return pages


def build_heap(size):
    return [Record(i) for i in range(size)]


def gc_frozen():
    return bool(getattr(gc, "get_freeze_count", lambda: 0)())


def rss_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Parent(object):
    def __init__(self, options, reporter, command_fd):
        self.options = options
        self.reporter = reporter
        self.command_fd = command_fd
        self.split = options.split and FREEZE_SUPPORTED
        self.strategy = parse_strategy(options.gc)
        if self.split or (options.freeze and self.strategy[0] == "default"):
            self.strategy = ("freeze", None)
        if unsupported(self.strategy[0]):
            self.strategy = ("default", None)
        self.freeze = self.strategy[0] == "freeze"
        self.workload = options.workload
        self.workers = {}  # pid -> index
        self.stopping = set()  # pids we asked to stop
        self.generation = 0  # counts re-forks
        self.data = None
        self.buf = b""
        self.pid = os.getpid()

    def start(self):
        imported = []
        for name in SHARED_MODULES + OPTIONAL_MODULES:
            try:
                __import__(name)
                imported.append(name)
            except Exception:
                pass
        if self.strategy[0] in ("freeze", "disable"):
            gc.disable()  # the recipe (and the first step of the road): no collection in the parent
        module_pages = object_pages(gc.get_objects(), 1) if not IS_PYPY else None
        rss0 = rss_bytes()
        started = time.perf_counter()
        self.data = build_heap(self.options.size)
        build_seconds = time.perf_counter() - started
        heap = max(0, rss_bytes() - rss0)
        self.reporter.send({
            "type": "ready", "pid": self.pid, "implementation": platform.python_implementation(),
            "version": platform.python_version(), "size": self.options.size,
            "freeze": self.freeze, "freezeSupported": FREEZE_SUPPORTED, "split": self.split,
            "gc": strategy_spec(*self.strategy), "defaultThreshold": list(gc.get_threshold()) if THRESHOLD_SUPPORTED else None,
            "unsupported": {n: unsupported(n) for n in ("threshold", "freeze") if unsupported(n)},
            "workload": self.workload, "workloads": sorted(WORKLOADS),
            "buildSeconds": build_seconds, "heapBytes": heap, "modules": imported,
            "executable": sys.executable})
        if module_pages is not None:
            self.report_kinds(module_pages)  # before the first fork: reading ids writes refcounts
        self.fork_workers(self.options.workers)

    def report_kinds(self, module_pages):
        """Which objects live on which pages of the heap, for cowtop's copy map: a sample of the
        records, their lists and their ints (every KIND_STRIDE-th record still hits every page), and
        every object the imports made. CPython only: there id() is the address."""
        sample = self.data[::KIND_STRIDE]
        records = object_pages(sample, 1)
        lists = object_pages((r.tags for r in sample), 1)
        ints = object_pages((r.id for r in sample if r.id > 256), 1)  # small ints are shared singletons
        del sample
        names = ["records", "lists", "ints", "module objects"]
        owner = {}
        # A page goes to the kind with most objects on it; a sampled kind counts KIND_STRIDE each.
        for k, (pages, weight) in enumerate([(records, KIND_STRIDE), (lists, KIND_STRIDE), (ints, KIND_STRIDE), (module_pages, 1)]):
            for page, n in pages.items():
                n *= weight
                best = owner.get(page)
                if best is None or n > best[1]:
                    owner[page] = (k, n)
        runs = []
        for page in sorted(owner):
            k = owner[page][0]
            if runs and runs[-1][0] + runs[-1][1] == page and runs[-1][2] == k:
                runs[-1][1] += 1
            else:
                runs.append([page, 1, k])
        # Lines stay well under the pipe's 16 KiB: the runs go in chunks.
        for i in range(0, max(1, len(runs)), KIND_CHUNK):
            self.reporter.send({"type": "kinds", "pid": self.pid, "names": names, "runs": runs[i:i + KIND_CHUNK],
                                "last": i + KIND_CHUNK >= len(runs)})

    def fork_workers(self, count):
        # Installed before fork so that a child inherits it: a "collect now" signal that arrives
        # the instant after fork must not kill the worker with SIGUSR1's default action.
        signal.signal(signal.SIGUSR1, _on_usr1)
        signal.signal(signal.SIGUSR2, _on_usr2)
        if self.split and FREEZE_SUPPORTED:
            # Split view: half the workers forked before gc.freeze(), half right after, from the
            # same parent and heap, so the two kinds run side by side.
            if gc.get_freeze_count():
                gc.unfreeze()
            unfrozen = (count + 1) // 2
            self._fork(unfrozen, False)
            gc.freeze()
            self._fork(count - unfrozen, True)
            return
        if self.freeze:
            gc.freeze()  # right before fork: everything tracked so far is never scanned again
        self._fork(count, self.freeze)

    def _fork(self, count, frozen):
        for _ in range(count):
            index = self.next_index()
            sys.stdout.flush()
            sys.stderr.flush()
            # A SIGTERM between fork and the child's own handlers would reach the parent's
            # Python handler in the child and be lost once the child resets it: the worker
            # would live on. Blocked here, it stays pending until the child is ready for it.
            block_stop_signals()
            pid = os.fork()
            if pid != 0:
                unblock_stop_signals()
            if pid == 0:
                try:
                    os.close(self.command_fd)  # only the parent takes commands
                    worker_main(self.options, self.reporter, self.pid, frozen, self.data,
                                self.strategy if not self.split else ("freeze" if frozen else "default", None))
                finally:
                    os._exit(0)
            self.workers[pid] = index
            self.reporter.send({"type": "fork", "pid": pid, "parent": self.pid, "index": index,
                                "freeze": frozen, "workload": self.workload,
                                "gc": strategy_spec(*self.strategy),
                                "generation": self.generation, "split": self.split})

    def next_index(self):
        used = set(self.workers.values())
        i = 0
        while i in used:
            i += 1
        return i

    def stop_workers(self, pids):
        for pid in pids:
            self.stopping.add(pid)
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 2.0
        while any(p in self.workers for p in pids) and time.monotonic() < deadline:
            if not self.reap(block_for=0.01):
                time.sleep(0.005)
        for pid in pids:
            if pid in self.workers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        while any(p in self.workers for p in pids):
            self.reap(block_for=0.05)

    def reap(self, block_for=0.0):
        """Collect exited workers and report each exit. Returns whether any was reaped."""
        any_reaped = False
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return any_reaped
            if pid == 0:
                if block_for and not any_reaped:
                    time.sleep(block_for)
                    block_for = 0.0
                    continue
                return any_reaped
            any_reaped = True
            msg = {"type": "exit", "pid": pid, "requested": pid in self.stopping}
            if os.WIFSIGNALED(status):
                msg["signal"] = os.WTERMSIG(status)
                try:
                    msg["signalName"] = signal.Signals(msg["signal"]).name
                except ValueError:
                    pass
            else:
                msg["code"] = os.WEXITSTATUS(status)
            self.workers.pop(pid, None)
            self.stopping.discard(pid)
            self.reporter.send(msg)

    def refork(self, freeze, workload=None, count=None, split=None, strategy=None):
        started = time.perf_counter()
        if split is not None:
            self.split = bool(split) and FREEZE_SUPPORTED
        if strategy is not None:
            self.strategy = parse_strategy(strategy)
        elif freeze is not None:
            self.strategy = ("freeze", None) if freeze else ("default", None)
        if self.split:
            self.strategy = ("freeze", None)
        if unsupported(self.strategy[0]):
            self.reporter.send({"type": "error", "message": "gc strategy %s: %s" % (self.strategy[0], unsupported(self.strategy[0]))})
            self.strategy = ("default", None)
        count = len(self.workers) if count is None else count
        self.stop_workers(list(self.workers))
        if workload is not None:
            self.workload = workload
            self.options.workload = workload
        freeze = self.strategy[0] == "freeze"
        if not freeze and gc_frozen():
            gc.unfreeze()  # back into the oldest generation: children will scan them again
        self.freeze = freeze
        self.generation += 1
        self.fork_workers(count)
        self.reporter.send({"type": "refork", "freeze": self.freeze, "workload": self.workload,
                            "gc": strategy_spec(*self.strategy),
                            "split": self.split,
                            "workers": sorted(self.workers), "generation": self.generation,
                            "seconds": time.perf_counter() - started})
        self.report_gc()  # the frozen count changed now, not at the next interval

    def report_gc(self):
        msg = {"type": "gc", "pid": self.pid}
        msg.update(gc_state())
        self.reporter.send(msg)

    def scale(self, count):
        count = max(1, min(MAX_WORKERS, count))
        current = sorted(self.workers, key=lambda p: self.workers[p])
        if count > len(current):
            self.fork_workers(count - len(current))
        elif count < len(current):
            self.stop_workers(current[count:])
        self.reporter.send({"type": "scale", "workers": sorted(self.workers)})

    def handle(self, line):
        try:
            cmd = json.loads(line)
        except ValueError:
            self.reporter.send({"type": "error", "message": "bad command: %r" % line[:200]})
            return True
        name = cmd.get("cmd")
        if name == "quit":
            return False
        if name in ("collect", "act"):
            sig = signal.SIGUSR1 if name == "collect" else signal.SIGUSR2
            targets = [cmd["pid"]] if cmd.get("pid") else list(self.workers)
            for pid in targets:
                if pid in self.workers:
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
        elif name == "refork":
            workload = cmd.get("workload")
            if workload is not None and workload not in WORKLOADS:
                self.reporter.send({"type": "error", "message": "unknown workload %s" % workload})
            else:
                try:
                    self.refork(cmd.get("freeze"), workload, cmd.get("workers"), cmd.get("split"), cmd.get("gc"))
                except ValueError as e:
                    self.reporter.send({"type": "error", "message": str(e)})
        elif name == "scale":
            self.scale(int(cmd.get("workers", len(self.workers))))
        elif name == "interval":
            INTERVAL.set(cmd.get("ms", self.options.interval))
            self.reporter.send({"type": "interval", "ms": int(INTERVAL.seconds() * 1000)})
        elif name == "write":
            # The parent writes into every shared record: each page it touches becomes a copy in
            # the parent, and the workers' own copies turn private without any fault in them.
            for r in self.data:
                r.tags = r.tags
            self.reporter.send({"type": "written", "pid": self.pid})
        elif name == "stop":
            # Memory is short: stop every worker, keep the parent and its heap.
            self.stop_workers(list(self.workers))
            self.reporter.send({"type": "scale", "workers": []})
        else:
            self.reporter.send({"type": "error", "message": "unknown command %r" % name})
        return True

    def loop(self):
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda s, f: None)
        next_report = time.monotonic()
        while True:
            self.reap()
            now = time.monotonic()
            if now >= next_report:
                self.report_gc()
                next_report = now + INTERVAL.seconds()
            try:
                ready, _, _ = select.select([self.command_fd, wake_r], [], [],
                                            max(0.0, next_report - time.monotonic()))
            except InterruptedError:
                continue
            if wake_r in ready:
                try:
                    os.read(wake_r, 512)
                except OSError:
                    pass
            if self.command_fd in ready:
                try:
                    chunk = os.read(self.command_fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    return  # cowtop closed the pipe: it is gone, so are we
                self.buf += chunk
                while b"\n" in self.buf:
                    line, self.buf = self.buf.split(b"\n", 1)
                    if line.strip() and not self.handle(line.decode("utf-8", "replace")):
                        return
                next_report = min(next_report, time.monotonic() + INTERVAL.seconds())  # a new, shorter interval

    def shutdown(self):
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.stop_workers(list(self.workers))


def measure(size):
    """Bytes of heap per object, as build_heap makes them, for cowtop's memory guard."""
    rss0 = rss_bytes()
    data = build_heap(size)
    per = max(0, rss_bytes() - rss0) / float(size)
    sys.stdout.write(json.dumps({"bytesPerObject": per, "size": len(data)}) + "\n")
    sys.stdout.flush()
    os._exit(0)


def parse_args(argv):
    if len(argv) == 2 and argv[0] == "--measure":
        measure(int(argv[1]))
    p = argparse.ArgumentParser(prog="cowtop_experiment")
    p.add_argument("--size", type=int, default=1000000)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--freeze", dest="freeze", action="store_true", default=False)
    p.add_argument("--no-freeze", dest="freeze", action="store_false")
    p.add_argument("--workload", default="idle", choices=sorted(WORKLOADS))
    p.add_argument("--collect-every", type=float, default=5.0)
    p.add_argument("--interval", type=int, default=1000, help="report interval, ms")
    p.add_argument("--tracemalloc", action="store_true", default=False)
    p.add_argument("--gc", default="default", help="default, disable, freeze or threshold:N[,N1,N2]")
    p.add_argument("--enabler", type=float, default=None, help="with --gc disable: gc.enable() after S s")
    p.add_argument("--enabler-ack", action="store_true", default=False,
                   help="before gc.enable(), report 'enabling' and wait for SIGCONT (compare --strategies measures then)")
    p.add_argument("--requests", type=int, default=None, help="serve: N requests per act, none otherwise")
    p.add_argument("--split", action="store_true", default=False)
    p.add_argument("--report-fd", type=int, required=True)
    p.add_argument("--command-fd", type=int, required=True)
    options = p.parse_args(argv)
    if options.size <= 0 or not 1 <= options.workers <= MAX_WORKERS:
        p.error("size must be > 0 and workers 1..%d" % MAX_WORKERS)
    try:
        parse_strategy(options.gc)
    except ValueError as e:
        p.error(str(e))
    return options


def main(argv=None):
    global INTERVAL
    options = parse_args(sys.argv[1:] if argv is None else argv)
    INTERVAL = ReportInterval(options.interval)
    # cowtop owns the lifecycle: a terminal's Ctrl-C goes to cowtop, which asks us to quit.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    reporter = Reporter(options.report_fd)
    parent = Parent(options, reporter, options.command_fd)

    def on_term(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    set_parent_death_signal_term()
    prefer_as_oom_victim(PARENT_OOM_SCORE)
    try:
        parent.start()
        parent.loop()
    except SystemExit:
        pass
    finally:
        parent.shutdown()
    os._exit(0)  # skip interpreter teardown: it would walk the whole heap for nothing


def set_parent_death_signal_term():
    """The parent gets SIGTERM when cowtop dies, then stops its workers (Linux)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)
    except Exception:
        pass


if __name__ == "__main__":
    main()
