"""cowtop's fork experiment: a parent builds a heap of GC-tracked objects, forks workers, and
reports what the garbage collector does in each of them.

Standard library only; runs under CPython >= 3.7 and PyPy 3.

Protocol (driven by cowtop, see src/experiment/protocol.ts):
  --report-fd  JSON lines out, one os.write() per line, each line well under 16 KiB so that a
               line from one process is never split by a line from another. The first is
               "hello" (hello.py); with --guard, "measured" comes before the build, which then
               waits for {"cmd": "build"} (cowtop's memory guard judges the measure).
  --command-fd JSON lines in: {"cmd": "collect", "pid": optional}, {"cmd": "refork",
               "freeze": bool, "gc": optional strategy, "workload": optional, "workers": optional},
               {"cmd": "scale", "workers": K}, {"cmd": "interval", "ms": N}, {"cmd": "quit"}.
stdout/stderr are free text; cowtop keeps them as log lines.
"""
import argparse
import os
import signal
import sys

from . import report
from .gc_state import FROZEN
from .parent import MAX_WORKERS, Parent
from .report import Reporter, ReportInterval
from .signals import PARENT_OOM_SCORE, prefer_as_oom_victim, set_parent_death_signal
from .workloads import WORKLOADS, parse_strategy


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m cowtop_experiment")
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
    p.add_argument("--guard", action="store_true", default=False,
                   help="report the bytes per object of the first objects, then wait for the build command")
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
    options = parse_args(sys.argv[1:] if argv is None else argv)
    report.INTERVAL = ReportInterval(options.interval)
    # cowtop owns the lifecycle: a terminal's Ctrl-C goes to cowtop, which asks us to quit.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    FROZEN.exact = True  # only the experiment freezes and unfreezes here, and refreshes the count when it does
    reporter = Reporter(options.report_fd)
    parent = Parent(options, reporter, options.command_fd)

    def on_term(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    set_parent_death_signal(signal.SIGTERM)
    prefer_as_oom_victim(PARENT_OOM_SCORE)
    try:
        parent.start()
        parent.loop()
    except SystemExit:
        pass
    finally:
        parent.shutdown()
    os._exit(0)  # skip interpreter teardown: it would walk the whole heap for nothing
