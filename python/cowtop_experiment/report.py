"""Reporting: whole JSON lines to cowtop, and the report interval shared by every process (gc
state itself is gc_state.py, which the agent reads with the same code)."""
import json
import mmap
import os
import struct

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


INTERVAL = None  # the ReportInterval, set by main before any fork; workers inherit it
