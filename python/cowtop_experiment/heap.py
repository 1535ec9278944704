"""The shared heap the parent builds before fork, what it costs, and which objects live on
which of its pages (for cowtop's copy map)."""
import os

from . import kinds

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


def rss_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def kind_messages(data, pid, module_pages):
    """A sample of the records, their lists and their ints (every KIND_STRIDE-th record still
    hits every page), and every object the imports made, as "kinds" reports. CPython only: there
    id() is the address."""
    sample = data[::KIND_STRIDE]
    counted = kinds.record_kinds(sample, KIND_STRIDE, module_pages)
    del sample
    names = [name for name, _, _ in counted]
    runs = kinds.page_runs(kinds.page_owners(counted))
    # Lines stay well under the pipe's 16 KiB: the runs go in chunks.
    return [{"type": "kinds", "pid": pid, "names": names, "runs": runs[i:i + KIND_CHUNK],
             "last": i + KIND_CHUNK >= len(runs)} for i in range(0, max(1, len(runs)), KIND_CHUNK)]
