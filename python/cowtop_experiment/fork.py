"""The parent and its workers: the heap built before fork, forking and re-forking, each worker's
loop, signal handling and the parent's command loop. These belong together: they share the
fork's state and the order in which signals are blocked around it."""
import gc
import json
import os
import platform
import select
import signal
import sys
import time

from . import kinds
from .report import CollectionLog, Reporter, FROZEN, FREEZE_SUPPORTED, IS_PYPY, SERVED, THRESHOLD_SUPPORTED, collections, gc_state
from .workloads import (ENABLER, OPTIONAL_MODULES, SHARED_MODULES, WORKLOADS, Periodic, check_enabler,
                        parse_strategy, strategy_spec, unsupported)

MAX_WORKERS = 64
INTERVAL = None  # the ReportInterval, set by __main__ before any fork; workers inherit it


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

# Blocked by the parent around fork, unblocked by the child once it is ready for them: a signal
# that reaches a child before that is kept pending by the kernel instead of lost. A stop signal
# would reach the parent's Python handler in the child, which the child then resets. A collect
# or act signal would be dropped: CPython clears the signals it has caught but not yet handled
# in the child after fork, and a worker that has not run since its fork (a busy machine: a few
# hundred ms) catches it right there.
FORK_SIGNALS = {signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2}


def block_fork_signals():
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, FORK_SIGNALS)


def unblock_fork_signals():
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORK_SIGNALS)


def apply_strategy(name, thresholds):
    """In a fresh worker: the gc as the strategy wants it."""
    if name == "disable":
        gc.disable()  # left disabled: only an explicit gc.collect(), or the enabler, runs one
        return
    if name == "threshold" and THRESHOLD_SUPPORTED:
        gc.set_threshold(*thresholds)
    gc.enable()  # the recipe: enabled again in the child (the parent may have disabled it to build)


def worker_main(options, reporter, parent_pid, data, strategy=("default", None)):
    set_parent_death_signal()
    prefer_as_oom_victim(WORKER_OOM_SCORE)
    if os.getppid() != parent_pid:
        os._exit(0)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGUSR1, _on_usr1)
    signal.signal(signal.SIGUSR2, _on_usr2)
    # Blocked by the parent around fork (FORK_SIGNALS): a stop request that came in the meantime
    # now kills us with the default action, as it should; a collect or act is flagged for the
    # first turn.
    unblock_fork_signals()
    move_across_cpus()
    Worker(options, reporter, parent_pid, data, strategy, wake_r).run()


def move_across_cpus():
    """Moves this process to another CPU and back. Since glibc 2.35 each thread registers an
    rseq area (in its thread control block) that the kernel writes the thread's CPU into when
    it moves to another CPU. After a fork, the first such write faults on that page: a copy in a
    worker, the page taken back in the parent once its workers have theirs. Left to chance it
    comes at the first move, often the first time the process sleeps and wakes on the other
    core, seconds after the fork: a fault that makes cowtop read the process again, for nothing
    the workload did. Moved here, it belongs to the fork's own tick."""
    try:
        allowed = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return
    if len(allowed) < 2:
        return  # it never moves
    try:
        for cpu in sorted(allowed)[:2]:  # two moves: at least one leaves the CPU it was on
            os.sched_setaffinity(0, (cpu,))
    except OSError:
        pass
    finally:
        try:
            os.sched_setaffinity(0, allowed)
        except OSError:
            pass


WARM_TURNS = 16  # CPython 3.11 specializes code from its 9th run, 3.12 and later from its 2nd
SETTLE_TURNS = 16  # after fork, until the allocator reuses the same blocks turn after turn


class Worker(object):
    """A worker's loop: its workload, its reports, and the collect and act signals. dry: the
    parent's warm-up before fork (see Parent.warm_up): no wait, no change to the gc, no signal
    acted on, and the idle workload (another one's work is its own, and must not run here)."""

    def __init__(self, options, reporter, parent_pid, data, strategy, wake_r, dry=False):
        self.parent_pid = parent_pid
        self.pid = os.getpid()
        self.wake_r = wake_r
        self.dry = dry
        self.send = reporter.send
        self.at_fork = collections()  # the parent's history, which this worker did not run
        self.log = CollectionLog()
        self.traced = None
        self.workload = WORKLOADS["idle" if dry else options.workload](options)
        if dry:
            return
        self.log.install()
        if options.tracemalloc:
            # Started after fork: it counts what this worker allocates itself, and nothing the
            # collector copies. USS growing while this stays flat is pages copied, not objects made.
            try:
                import tracemalloc
                tracemalloc.start()
                self.traced = tracemalloc
            except Exception:
                self.traced = None
        apply_strategy(*strategy)
        ENABLER["forked"] = time.monotonic()
        ENABLER["at"] = ENABLER["forked"] + options.enabler if strategy[0] == "disable" and options.enabler else None
        ENABLER["ack"] = options.enabler_ack
        ENABLER["report"] = reporter.send
        if isinstance(self.workload, Periodic):
            self.workload.data = data  # only read and write use it; collect and the reports never do

    def report(self, explicit=False):
        log, pid, send = self.log, self.pid, self.send
        for c in log.take():
            c.update({"type": "collection", "pid": pid, "explicit": explicit})
            send(c)
        msg = {"type": "gc", "pid": pid}
        msg.update(gc_state(self.at_fork))
        if self.traced is not None:
            msg["traced"] = list(self.traced.get_traced_memory())  # current, peak (bytes)
        if IS_PYPY:
            msg["pypy"] = {"minor": log.pypy_counts[0], "majorSteps": log.pypy_counts[1],
                           "major": log.pypy_counts[2], "minorSeconds": log.pypy_minor_seconds}
            try:
                st = gc.get_stats()  # PyPy's memory view of its own heap
                msg["pypy"]["gcMemory"] = int(st._s.total_gc_memory)
                msg["pypy"]["allocatedMemory"] = int(st._s.total_allocated_memory)
            except Exception:
                pass
        send(msg)

    def collect(self, now, interval):
        started = time.perf_counter()
        self.log.explicit = True
        gc.collect()
        self.log.explicit = False
        seconds = time.perf_counter() - started
        self.report(explicit=True)
        self.send({"type": "collected", "pid": self.pid, "seconds": seconds})
        return now + interval

    def act(self, now, interval):
        log = self.log
        started = time.perf_counter()
        served, full, full_seconds = SERVED[0], log.full, log.full_seconds
        log.first_full = None
        if hasattr(self.workload, "act"):
            self.workload.act()
        seconds = time.perf_counter() - started
        self.report(explicit=True)
        self.send({"type": "acted", "pid": self.pid, "seconds": seconds, "requests": SERVED[0] - served,
                   "full": log.full - full, "fullSeconds": log.full_seconds - full_seconds,
                   "firstFull": None if log.first_full is None else log.first_full - served})
        return now + interval

    def run(self, turns=-1):
        """The loop, for good (turns=-1), or for that many turns (the dry warm-up). The first
        SETTLE_TURNS run at once, each with a report (see Parent.warm_up)."""
        next_report = time.monotonic()
        last_report = next_report
        dry = self.dry
        settle = SETTLE_TURNS
        while turns:
            if turns > 0:
                turns -= 1  # -1 stays -1: no new int object a turn
            at_once = dry or settle > 0
            if settle:
                settle -= 1
            now = time.monotonic()
            interval = INTERVAL.seconds()
            next_report = min(next_report, last_report + interval)  # ] made it shorter: report sooner
            check_enabler()
            if _flags["collect"] and not dry:
                _flags["collect"] = False
                next_report = self.collect(now, interval)
            if _flags["act"] and not dry:
                _flags["act"] = False
                next_report = self.act(now, interval)
            wait_workload = self.workload.run(now)
            now = time.monotonic()
            if now >= next_report or at_once:
                self.report()
                last_report = now
                next_report = now + interval
            if os.getppid() != self.parent_pid:
                os._exit(0)
            # At most 1 s asleep: a new interval is taken up within a second.
            timeout = max(0.0, min(wait_workload, next_report - now, 1.0))
            if ENABLER["at"] is not None:
                timeout = max(0.0, min(timeout, ENABLER["at"] - now))
            self.wait(0.0 if at_once else timeout)

    def wait(self, timeout):
        try:
            ready, _, _ = select.select([self.wake_r], [], [], timeout)
        except InterruptedError:
            ready = []
        if ready:
            try:
                os.read(self.wake_r, 512)
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


GUARD_SAMPLE = 100000  # objects measured for the memory guard before the rest are built
KIND_STRIDE = 16
KIND_CHUNK = 500


def build_heap(size):
    return [Record(i) for i in range(size)]


def gc_frozen():
    return bool(FROZEN.get())


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
        self.settle = 0  # turns of the loop still to run at once after a fork (see warm_up)

    def start(self):
        importing = time.perf_counter()
        imported = []
        for name in SHARED_MODULES + OPTIONAL_MODULES:
            try:
                __import__(name)
                imported.append(name)
            except Exception:
                pass
        if self.strategy[0] in ("freeze", "disable"):
            gc.disable()  # the recipe (and the first step of the road): no collection in the parent
        import_seconds = time.perf_counter() - importing
        module_pages = kinds.page_counts(gc.get_objects()) if not IS_PYPY else None
        rss0 = rss_bytes()
        started = time.perf_counter()
        if self.options.guard:
            # The memory guard's measure is the heap's own first objects: no second interpreter.
            first = min(self.options.size, GUARD_SAMPLE)
            self.data = build_heap(first)
            waited = time.perf_counter()
            self.reporter.send({"type": "measured", "objects": first,
                                "bytesPerObject": max(0, rss_bytes() - rss0) / float(first)})
            if not self.wait_for_build():
                raise SystemExit(0)
            started += time.perf_counter() - waited  # the wait is not build time
            self.data.extend(Record(i) for i in range(first, self.options.size))
        else:
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
            "buildSeconds": build_seconds, "importSeconds": import_seconds, "heapBytes": heap, "modules": imported,
            "executable": sys.executable})
        if module_pages is not None:
            self.report_kinds(module_pages)  # before the first fork: reading ids writes refcounts
        self.warm_up()
        self.fork_workers(self.options.workers)

    def warm_up(self):
        """Runs a worker's loop and the parent's own, before the first fork, reporting to
        /dev/null. CPython 3.11 and later specialize code once it has run a few times, writing
        into the code objects and into the dicts and types it reads (version tags). Done here,
        those writes are in pages every worker shares. Done after fork, seconds in, they would copy
        pages into every worker and the parent: copies the experiment made, not the workload or
        the collector, and each a fault tick that makes cowtop read every process again.
        For the same reason, after a fork the first SETTLE_TURNS turns of each loop run at once:
        the allocators' first reuses of blocks in shared pages then fall in the fork's tick, not
        one every few seconds."""
        sink = Reporter(os.open(os.devnull, os.O_WRONLY))
        wake_r, wake_w = os.pipe()
        real = self.reporter
        try:
            Worker(self.options, sink, os.getppid(), None, ("default", None), wake_r, dry=True).run(WARM_TURNS)
            self.reporter = sink
            self.loop(WARM_TURNS)
        finally:
            self.reporter = real
            for fd in (sink.fd, wake_r, wake_w):
                os.close(fd)

    def wait_for_build(self):
        """--guard: blocks until cowtop says build (True) or quit, or is gone (False). Other
        commands that come first (a key pressed during the start) wait their turn in self.buf."""
        kept = []
        while True:
            while b"\n" not in self.buf:
                try:
                    chunk = os.read(self.command_fd, 65536)
                except InterruptedError:
                    continue
                if not chunk:
                    return False
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            try:
                cmd = json.loads(line.decode("utf-8", "replace")).get("cmd")
            except (ValueError, AttributeError):
                cmd = None
            if cmd in ("build", "quit"):
                self.buf = b"".join(k + b"\n" for k in kept) + self.buf
                return cmd == "build"
            kept.append(line)

    def report_kinds(self, module_pages):
        """Which objects live on which pages of the heap, for cowtop's copy map: a sample of the
        records, their lists and their ints (every KIND_STRIDE-th record still hits every page), and
        every object the imports made. CPython only: there id() is the address."""
        sample = self.data[::KIND_STRIDE]
        counted = kinds.record_kinds(sample, KIND_STRIDE, module_pages)
        del sample
        names = [name for name, _, _ in counted]
        runs = kinds.page_runs(kinds.page_owners(counted))
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
            if FROZEN.get():
                gc.unfreeze()
                FROZEN.refresh()
            unfrozen = (count + 1) // 2
            self._fork(unfrozen, False)
            gc.freeze()
            FROZEN.refresh()
            self._fork(count - unfrozen, True)
            return
        if self.freeze:
            gc.freeze()  # right before fork: everything tracked so far is never scanned again
            FROZEN.refresh()  # once here, not at every report of every worker (FrozenCount)
        self._fork(count, self.freeze)

    def _fork(self, count, frozen):
        self.settle = SETTLE_TURNS
        for _ in range(count):
            index = self.next_index()
            sys.stdout.flush()
            sys.stderr.flush()
            # A signal between fork and the child's own handlers stays pending until the child
            # is ready for it (FORK_SIGNALS).
            block_fork_signals()
            pid = os.fork()
            if pid != 0:
                unblock_fork_signals()
            if pid == 0:
                try:
                    os.close(self.command_fd)  # only the parent takes commands
                    worker_main(self.options, self.reporter, self.pid, self.data,
                                self.strategy if not self.split else ("freeze" if frozen else "default", None))
                finally:
                    os._exit(0)
            self.workers[pid] = index
            self.reporter.send({"type": "fork", "pid": pid, "parent": self.pid, "index": index,
                                "freeze": frozen, "workload": self.workload,
                                "gc": strategy_spec(*self.strategy),
                                "generation": self.generation, "split": self.split})
        move_across_cpus()

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
            FROZEN.refresh()
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
            asked = []
            for pid in targets:
                if pid in self.workers:
                    try:
                        os.kill(pid, sig)
                        asked.append(pid)
                    except ProcessLookupError:
                        pass
            # Whom it reached, as the parent knows it: a command sent during the build or a
            # re-fork is read once the workers are forked, and cowtop's count could be stale.
            self.reporter.send({"type": "asked", "cmd": name, "pids": asked})
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

    def loop(self, turns=-1):
        """Commands and reports until cowtop says quit or is gone. turns: the warm-up (see
        warm_up), that many turns with a report each, without waiting or reading commands."""
        dry = turns >= 0
        wake_r = None
        watched = []
        if not dry:
            wake_r, wake_w = os.pipe()
            os.set_blocking(wake_w, False)
            signal.set_wakeup_fd(wake_w)
            signal.signal(signal.SIGCHLD, lambda s, f: None)
            watched = [self.command_fd, wake_r]
            if not self.handle_buffered():  # commands that came while the heap was measured (wait_for_build)
                return
        next_report = time.monotonic()
        while turns:
            if turns > 0:
                turns -= 1
            at_once = dry or self.settle > 0  # see warm_up
            if self.settle:
                self.settle -= 1
            self.reap()
            now = time.monotonic()
            if now >= next_report or at_once:
                self.report_gc()
                next_report = now + INTERVAL.seconds()
            # Worked out on every turn, used or not: code first run after the warm-up (a branch
            # it never took) is specialized then, and copies its page.
            timeout = max(0.0, next_report - time.monotonic())
            try:
                ready, _, _ = select.select(watched, [], [], 0.0 if at_once else timeout)
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
                if not self.handle_buffered():
                    return
                next_report = min(next_report, time.monotonic() + INTERVAL.seconds())  # a new, shorter interval

    def handle_buffered(self):
        """Runs the whole command lines in self.buf; False once one says to stop."""
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            if line.strip() and not self.handle(line.decode("utf-8", "replace")):
                return False
        return True

    def shutdown(self):
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.stop_workers(list(self.workers))
