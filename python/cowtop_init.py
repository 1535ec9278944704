"""PID 1's duties for `cowtop run` when cowtop is a container's first process (no init).

Node cannot wait for a process it did not start, so orphans reparented to cowtop as PID 1 would
stay zombies. This helper marks itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so
every process the server orphans comes to it, starts the server in its own process group, and
reaps everything. It reports on fd 4, one line each: "pid N" once the server runs (or "error
ERRNO" when it cannot be run), then "exit CODE" or "signal SIGNO" when the server ends. It ends
when nothing is left to reap. Run as `python3 -I -S cowtop_init.py COMMAND...`: no site, no
agent, the environment passed on untouched. Standard library only.
"""
import errno
import os
import sys

PR_SET_CHILD_SUBREAPER = 36
REPORT_FD = 4


def subreaper():
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except Exception:
        return False


def report(line):
    try:
        os.write(REPORT_FD, (line + "\n").encode())
    except OSError:
        pass


def start(argv):
    # The exec's failure comes back through a close-on-exec pipe: nothing read means it ran.
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(REPORT_FD)
        except OSError:
            pass
        try:
            os.close(r)
            os.setpgid(0, 0)  # its own group: cowtop signals the server's group, never this helper
            os.execvp(argv[0], argv)
        except OSError as e:
            os.write(w, str(e.errno or errno.EIO).encode())
        os._exit(127)
    os.close(w)
    failed = b""
    while True:
        try:
            chunk = os.read(r, 16)
        except InterruptedError:
            continue
        if not chunk:
            break
        failed += chunk
    os.close(r)
    return pid, failed.decode() or None


def main(argv):
    if not argv:
        return 2
    if not subreaper():
        report("nosubreaper")
    server, failed = start(argv)
    if failed:
        os.waitpid(server, 0)
        report("error " + failed)
        return 2
    report("pid %d" % server)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue
        if pid == server:
            if os.WIFSIGNALED(status):
                report("signal %d" % os.WTERMSIG(status))
            else:
                report("exit %d" % os.WEXITSTATUS(status))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
