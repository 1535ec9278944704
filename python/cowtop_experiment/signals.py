"""Signals and the kernel's hold on a process: the collect and act flags, the parent-death
signal (the one prctl call), the OOM score, the signals blocked around fork, and the move across
CPUs that puts the kernel's own write after fork into the fork's tick."""
import os
import signal
import sys

flags = {"collect": False, "act": False}


def on_usr1(signum, frame):
    flags["collect"] = True


def on_usr2(signum, frame):
    flags["act"] = True  # run the workload's act() once now (compare --matrix)


PR_SET_PDEATHSIG = 1


def prctl(option, arg):
    """prctl(2) through libc (Linux): the one place it is called. Best effort: False where it
    cannot be (another OS, no ctypes)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl(option, arg, 0, 0, 0) == 0
    except Exception:
        return False


def set_parent_death_signal(sig=signal.SIGKILL):
    """Ask the kernel to send sig to this process when its parent dies (Linux): a worker gets
    SIGKILL (its loop also checks getppid()), the experiment's parent SIGTERM when cowtop dies."""
    return prctl(PR_SET_PDEATHSIG, sig)


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
