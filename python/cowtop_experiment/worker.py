"""A worker: its gc set as the strategy wants, its loop (the workload, its reports, the collect
and act signals), and the turns it runs at once after a fork to settle."""
import gc
import os
import select
import signal
import time

from . import report
from .gc_state import IS_PYPY, SERVED, THRESHOLD_SUPPORTED, CollectionLog, collections, gc_state
from .signals import (WORKER_OOM_SCORE, flags, move_across_cpus, on_usr1, on_usr2, prefer_as_oom_victim,
                      set_parent_death_signal, unblock_fork_signals)
from .workloads import ENABLER, WORKLOADS, Periodic, check_enabler

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
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGUSR2, on_usr2)
    # Blocked by the parent around fork (FORK_SIGNALS): a stop request that came in the meantime
    # now kills us with the default action, as it should; a collect or act is flagged for the
    # first turn.
    unblock_fork_signals()
    move_across_cpus()
    Worker(options, reporter, parent_pid, data, strategy, wake_r).run()


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
            interval = report.INTERVAL.seconds()
            next_report = min(next_report, last_report + interval)  # ] made it shorter: report sooner
            check_enabler()
            if flags["collect"] and not dry:
                flags["collect"] = False
                next_report = self.collect(now, interval)
            if flags["act"] and not dry:
                flags["act"] = False
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
