"""Which kind of object each page of the heap holds, for cowtop's copy map (the "kinds" report).
CPython only: there id() is the address.

It runs in the parent between the build and the first fork, so its time is time before the
first worker shows. The loops are the C ones of map, filter, Counter, set and groupby: for a
million records the same report took 75-150 ms in Python loops, 60-100 ms this way
(bench/RESULTS.md, issue 14). Reading the records any other way after the fork was tried: see
there why it was not kept."""
from collections import Counter
from functools import partial
from itertools import count, groupby, repeat
from operator import attrgetter, lt, rshift, sub

PAGE_SHIFT = 12


def page_counts(objects):
    """page number -> how many of the objects start on it."""
    return Counter(map(rshift, map(id, objects), repeat(PAGE_SHIFT)))


def record_kinds(sample, stride, module_pages):
    """The pages of every stride-th record, of their lists and ints, weighted by the stride, and
    of the module objects (all counted): [(name, page counts, weight)], in order of precedence
    on a tie."""
    ids = filter(partial(lt, 256), map(attrgetter("id"), sample))  # small ints are shared singletons
    return [("records", page_counts(sample), stride),
            ("lists", page_counts(map(attrgetter("tags"), sample)), stride),
            ("ints", page_counts(ids), stride),
            ("module objects", module_pages, 1)]


def page_owners(counted):
    """page -> index of the kind with the most (weighted) objects on it; the first kind wins a
    tie. Most pages hold one kind (each size of object has pools of its own), so only pages two
    kinds share are compared one by one."""
    owner = {}
    for k, (_, pages, weight) in enumerate(counted):
        contested = pages.keys() & owner.keys()
        owner.update(dict.fromkeys(pages.keys() - contested, k))
        for page in contested:
            j = owner[page]
            if pages[page] * weight > counted[j][1][page] * counted[j][2]:
                owner[page] = k
    return owner


def page_runs(owner):
    """[[first page, pages, kind]] for each run of consecutive pages of one kind, in order."""
    pages = sorted(owner)
    # Within a run of consecutive pages, page - position is constant.
    keys = zip(map(sub, pages, count()), map(owner.__getitem__, pages))
    runs = []
    at = 0
    for (offset, k), group in groupby(keys):
        n = len(list(group))
        runs.append([offset + at, n, k])
        at += n
    return runs
