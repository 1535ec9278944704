"""The parent: the heap built before fork, the memory guard's sample, forking and re-forking the
workers (with gc.freeze() or not, another strategy or workload), and its command loop."""
import gc
import json
import os
import platform
import select
import signal
import sys
import time

from . import kinds, report
from .heap import GUARD_SAMPLE, Record, build_heap, kind_messages, rss_bytes
from .gc_state import FREEZE_SUPPORTED, FROZEN, IS_PYPY, THRESHOLD_SUPPORTED, gc_state
from .signals import block_fork_signals, unblock_fork_signals
from .report import Reporter
from .signals import on_usr1, on_usr2, move_across_cpus
from .worker import SETTLE_TURNS, WARM_TURNS, Worker, worker_main
from .workloads import OPTIONAL_MODULES, SHARED_MODULES, WORKLOADS, parse_strategy, strategy_spec, unsupported

MAX_WORKERS = 64


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
        """Which objects live on which pages of the heap, for cowtop's copy map (heap.kind_messages)."""
        for msg in kind_messages(self.data, self.pid, module_pages):
            self.reporter.send(msg)

    def fork_workers(self, count):
        # Installed before fork so that a child inherits it: a "collect now" signal that arrives
        # the instant after fork must not kill the worker with SIGUSR1's default action.
        signal.signal(signal.SIGUSR1, on_usr1)
        signal.signal(signal.SIGUSR2, on_usr2)
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
        if not freeze and FROZEN.get():
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
            report.INTERVAL.set(cmd.get("ms", self.options.interval))
            self.reporter.send({"type": "interval", "ms": int(report.INTERVAL.seconds() * 1000)})
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
                next_report = now + report.INTERVAL.seconds()
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
                next_report = min(next_report, time.monotonic() + report.INTERVAL.seconds())  # a new, shorter interval

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
